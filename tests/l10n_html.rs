//! The Hebrew e-mail and SMS viewed as a person would: rendered from the shipped catalogs,
//! made into HTML, screenshot with headless Chromium and checked to read right to left (and
//! the English one left to right); the DOM Chromium parsed keeps `dir="rtl"` and the
//! `<bdi>`s.
//!
//! The pages and screenshots stay in `target/l10n-screenshots/`. Chromium is
//! `INCIDENTS_CHROMIUM`, else `chromium` on PATH; without one, the screenshot tests print
//! that they were skipped and pass. Run them with
//!
//! ```sh
//! export INCIDENTS_CHROMIUM=$(bash scripts/chromium-screenshot.sh install)
//! cargo test --features l10n --test l10n_html
//! ```
//!
//! (`.ci/run` does.)
#![cfg(feature = "l10n")]

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use incidents::l10n::{Catalogs, Message, Rendered, email_html, sms_preview_html};

const SERVICE: &str = "קופות POS 2 בסניף 14";
const UPDATE: &str = "Visa לא עובד בקופה 2 כרגע.\nמזומן ו־Bit עובדים כרגיל.";
const SERVICE_EN: &str = "Checkout POS 2, branch 14";
const UPDATE_EN: &str = "Visa is down at till 2.\nCash and Bit work as usual.";
const LINK: &str = "https://status.example/u/3f9a";

/// The shipped customer update and unsubscribe footer, rendered for `locale`.
fn rendered(catalogs: &Catalogs, locale: &str, service: &str, update: &str) -> (Rendered, String) {
    let zone = chrono_tz::Asia::Jerusalem;
    let message = Message::CustomerUpdate {
        service,
        message: update,
    };
    let footer = catalogs
        .render(locale, zone, &Message::UnsubscribeFooter { link: LINK })
        .body;
    (catalogs.render(locale, zone, &message), footer)
}

fn email(rendered: &Rendered, footer: &str) -> String {
    email_html(
        &rendered.locale,
        rendered.subject.as_deref().unwrap_or_default(),
        &rendered.body,
        Some(footer),
    )
}

fn sms(rendered: &Rendered) -> String {
    let text = rendered.sms.as_ref().map(|s| s.text.as_str());
    sms_preview_html(&rendered.locale, text.unwrap_or_default())
}

fn catalogs() -> Catalogs {
    Catalogs::builder()
        .build()
        .expect("the shipped catalogs load")
}

/// Without a browser: the Hebrew e-mail's markup.
#[test]
fn the_hebrew_email_is_rtl_throughout_with_a_bdi_for_each_isolate() {
    let catalogs = catalogs();
    let (he, footer) = rendered(&catalogs, "he", SERVICE, UPDATE);
    assert_eq!(he.locale, "he");
    let html = email(&he, &footer);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"he\" dir=\"rtl\">"));
    assert!(
        html.contains("<title>עדכון שירות: קופות POS 2 בסניף 14</title>"),
        "{html}"
    );
    // Every block says rtl; nothing is left to `dir="auto"` or to the default.
    for tag in ["<body ", "<h1 ", "<p "] {
        for block in html.split(tag).skip(1) {
            assert!(block.starts_with("dir=\"rtl\""), "{tag}{block}");
        }
    }
    assert!(!html.contains("dir=\"auto\"") && !html.contains("dir=\"ltr\""));
    // One <bdi> for each isolate the catalogs made, and no isolation marks left.
    let isolates = [he.subject.as_deref().unwrap_or_default(), &he.body, &footer]
        .iter()
        .map(|t| t.matches(['\u{2066}', '\u{2067}', '\u{2068}']).count())
        .sum::<usize>();
    assert_eq!(isolates, 4);
    // The update's first line is Hebrew that starts with "Visa": isolated right to left.
    assert!(he.body.contains("\u{2067}Visa"), "{:?}", he.body);
    assert_eq!(html.matches("<bdi dir=\"rtl\">").count(), 1, "{html}");
    assert_eq!(html.matches("<bdi").count(), isolates);
    assert_eq!(html.matches("</bdi>").count(), isolates);
    assert!(!html.contains(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']));
    assert!(html.contains(&format!("<a href=\"{LINK}\">{LINK}</a>")));
    let sms = sms(&he);
    assert!(sms.contains("<html lang=\"he\" dir=\"rtl\">"));
    assert!(sms.contains("<bdi>קופות POS 2 בסניף 14</bdi>"), "{sms}");
}

/// Where the pages and screenshots are kept: `target/l10n-screenshots/`.
fn out_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("l10n-screenshots");
    fs::create_dir_all(&dir).expect("create target/l10n-screenshots");
    dir
}

/// The Chromium binary, or `None` after saying the test is skipped.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("INCIDENTS_CHROMIUM").filter(|s| !s.is_empty());
    let found = match named {
        Some(bin) => Some(PathBuf::from(bin)),
        None => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("chromium"))
                .find(|bin| bin.is_file())
        }),
    };
    if found.is_none() {
        eprintln!(
            "skipped: no Chromium (INCIDENTS_CHROMIUM or chromium on PATH); run \
             export INCIDENTS_CHROMIUM=$(bash scripts/chromium-screenshot.sh install) && \
             cargo test --features l10n --test l10n_html"
        );
    }
    found
}

fn script(chromium: &Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/chromium-screenshot.sh"
        ))
        .env("INCIDENTS_CHROMIUM", chromium);
    command
}

/// Writes `html` to `NAME.html`, screenshots it into `NAME.png` at `width`×`height`, and
/// returns the lines of ink found in it.
fn screenshot(chromium: &Path, name: &str, html: &str, width: u32, height: u32) -> Shot {
    let dir = out_dir();
    let page = dir.join(format!("{name}.html"));
    let png = dir.join(format!("{name}.png"));
    fs::write(&page, html).expect("write the page");
    let status = script(chromium)
        .arg("shot")
        .arg(&page)
        .arg(&png)
        .arg(format!("{width}x{height}"))
        .status()
        .expect("run scripts/chromium-screenshot.sh");
    assert!(status.success(), "screenshot of {} failed", page.display());
    Shot::read(&png)
}

/// The DOM Chromium makes of `html`, serialized.
fn dump_dom(chromium: &Path, name: &str, html: &str) -> String {
    let page = out_dir().join(format!("{name}.html"));
    fs::write(&page, html).expect("write the page");
    let out = script(chromium)
        .arg("dump-dom")
        .arg(&page)
        .output()
        .expect("run scripts/chromium-screenshot.sh");
    assert!(
        out.status.success(),
        "dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the DOM is UTF-8")
}

/// A screenshot reduced to its lines of ink: runs of rows holding a dark pixel, each with
/// the leftmost and rightmost dark column.
#[derive(Debug)]
struct Shot {
    width: u32,
    lines: Vec<Ink>,
}

#[derive(Debug, Clone, Copy)]
struct Ink {
    top: u32,
    bottom: u32,
    left: u32,
    right: u32,
}

impl Shot {
    fn read(path: &Path) -> Shot {
        let file = File::open(path).expect("open the screenshot");
        let mut decoder = png::Decoder::new(BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader.next_frame(&mut buf).expect("decode the PNG");
        let samples = info.color_type.samples();
        let dark = |x: u32, y: u32| {
            let at = y as usize * info.line_size + x as usize * samples;
            let px = &buf[at..at + samples];
            let luma = if samples >= 3 {
                (299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2])) / 1000
            } else {
                u32::from(px[0])
            };
            // Text is #1a1a1a, #555555 or link blue; backgrounds and the rule are lighter.
            luma < 160
        };
        let mut lines: Vec<Ink> = Vec::new();
        let mut open: Option<Ink> = None;
        for y in 0..info.height {
            let row: Vec<u32> = (0..info.width).filter(|&x| dark(x, y)).collect();
            match (row.first(), row.last(), open.as_mut()) {
                (Some(&l), Some(&r), Some(ink)) => {
                    ink.bottom = y;
                    ink.left = ink.left.min(l);
                    ink.right = ink.right.max(r);
                }
                (Some(&left), Some(&right), None) => {
                    open = Some(Ink {
                        top: y,
                        bottom: y,
                        left,
                        right,
                    });
                }
                _ => lines.extend(open.take()),
            }
        }
        lines.extend(open);
        Shot {
            width: info.width,
            lines,
        }
    }

    /// Whether every line of ink starts within a few pixels of the margin `pad` on the
    /// `rtl` (right) or left side, and ends at least `gap` pixels short of the other.
    fn hugs(&self, rtl: bool, pad: u32, gap: u32) -> Result<(), String> {
        const SLACK: u32 = 6;
        if self.lines.is_empty() {
            return Err("no ink at all".into());
        }
        let (near_edge, far_edge) = (pad, self.width - pad);
        for ink in &self.lines {
            let (near, far) = if rtl {
                (self.width - 1 - ink.right, ink.left)
            } else {
                (ink.left, self.width - 1 - ink.right)
            };
            if near + SLACK < near_edge || near > near_edge + SLACK {
                return Err(format!(
                    "line at y {}..{} is {near} px from its side, not {near_edge}: {ink:?}",
                    ink.top, ink.bottom
                ));
            }
            if far + 1 < near_edge + gap || far > far_edge {
                return Err(format!(
                    "line at y {}..{} reaches within {far} px of the other side: {ink:?}",
                    ink.top, ink.bottom
                ));
            }
        }
        Ok(())
    }
}

#[test]
fn the_hebrew_email_reads_right_to_left_in_chromium_and_the_english_left_to_right() {
    let Some(chromium) = chromium() else { return };
    let catalogs = catalogs();
    let (he, he_footer) = rendered(&catalogs, "he", SERVICE, UPDATE);
    let (en, en_footer) = rendered(&catalogs, "en", SERVICE_EN, UPDATE_EN);
    let he_html = email(&he, &he_footer);
    let (width, height, pad) = (720, 420, 24);

    let shot = screenshot(&chromium, "email-he", &he_html, width, height);
    // Heading, two lines of body, the footer.
    assert!(shot.lines.len() >= 4, "{shot:?}");
    shot.hugs(true, pad, 80)
        .unwrap_or_else(|e| panic!("Hebrew e-mail: {e}\n{shot:?}"));

    let shot = screenshot(
        &chromium,
        "email-en",
        &email(&en, &en_footer),
        width,
        height,
    );
    assert!(shot.lines.len() >= 4, "{shot:?}");
    shot.hugs(false, pad, 80)
        .unwrap_or_else(|e| panic!("English e-mail: {e}\n{shot:?}"));

    // The check sees the difference: the same Hebrew page without its `dir` attributes
    // reads left to right, and fails it.
    let undirected = he_html.replace(" dir=\"rtl\"", "");
    assert_ne!(undirected, he_html);
    let shot = screenshot(
        &chromium,
        "email-he-without-dir",
        &undirected,
        width,
        height,
    );
    assert!(shot.hugs(true, pad, 80).is_err(), "{shot:?}");
    assert!(shot.hugs(false, pad, 80).is_ok(), "{shot:?}");
}

#[test]
fn the_hebrew_sms_bubble_sits_right_and_reads_right_to_left_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let catalogs = catalogs();
    let (he, _) = rendered(&catalogs, "he", SERVICE, UPDATE);
    let (en, _) = rendered(&catalogs, "en", SERVICE_EN, UPDATE_EN);
    // A phone's width; the page pads 16 px and the bubble 12 px more, and the bubble is at
    // most 260 px wide, so its text stays far from the other side.
    let (width, height, pad) = (360, 400, 28);
    let he_html = sms(&he);
    let shot = screenshot(&chromium, "sms-he", &he_html, width, height);
    assert!(shot.lines.len() >= 2, "{shot:?}");
    shot.hugs(true, pad, 40)
        .unwrap_or_else(|e| panic!("Hebrew SMS: {e}\n{shot:?}"));
    let shot = screenshot(&chromium, "sms-en", &sms(&en), width, height);
    shot.hugs(false, pad, 40)
        .unwrap_or_else(|e| panic!("English SMS: {e}\n{shot:?}"));
    let undirected = he_html.replace(" dir=\"rtl\"", "");
    let shot = screenshot(&chromium, "sms-he-without-dir", &undirected, width, height);
    assert!(shot.hugs(true, pad, 40).is_err(), "{shot:?}");
}

#[test]
fn chromium_keeps_dir_and_the_bdis_of_the_hebrew_email() {
    let Some(chromium) = chromium() else { return };
    let catalogs = catalogs();
    let (he, footer) = rendered(&catalogs, "he", SERVICE, UPDATE);
    let dom = dump_dom(&chromium, "email-he-dom", &email(&he, &footer));
    assert!(dom.contains("<html lang=\"he\" dir=\"rtl\">"), "{dom}");
    assert!(dom.contains("<body dir=\"rtl\""), "{dom}");
    assert!(dom.contains("<h1 dir=\"rtl\""), "{dom}");
    assert_eq!(dom.matches("<p dir=\"rtl\"").count(), 2, "{dom}");
    assert!(dom.contains("<bdi>קופות POS 2 בסניף 14</bdi>"), "{dom}");
    assert!(
        dom.contains("<bdi dir=\"rtl\">Visa לא עובד בקופה 2 כרגע.</bdi><br><bdi>"),
        "{dom}"
    );
    assert_eq!(dom.matches("<bdi").count(), 4, "{dom}");
    assert_eq!(dom.matches("</bdi>").count(), 4, "{dom}");
    assert!(
        dom.contains(&format!("<bdi><a href=\"{LINK}\">{LINK}</a></bdi>")),
        "{dom}"
    );
    // Nothing Chromium would have had to repair: no script, no external resource.
    assert!(!dom.contains("<script") && !dom.contains("src="), "{dom}");

    let sms = dump_dom(&chromium, "sms-he-dom", &sms(&he));
    assert!(sms.contains("<html lang=\"he\" dir=\"rtl\">"), "{sms}");
    assert_eq!(sms.matches("<bdi").count(), 3, "{sms}");
}

/// The e-mail with a script that measures, in the laid-out page, where the word `latin`
/// and the word `hebrew` of the first paragraph sit, and writes `latin-right-of-hebrew` or
/// `latin-left-of-hebrew` into the DOM for `dump-dom` to show. (Only this test copy has a
/// script; the e-mail itself has none.)
fn with_word_order_probe(html: &str, latin: &str, hebrew: &str) -> String {
    let probe = format!(
        r#"<script>
window.addEventListener('load', () => {{
  const p = document.querySelector('p');
  const rect = (word) => {{
    const walk = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {{
      const at = n.data.indexOf(word);
      if (at >= 0) {{
        const r = document.createRange();
        r.setStart(n, at);
        r.setEnd(n, at + word.length);
        return r.getBoundingClientRect();
      }}
    }}
    return null;
  }};
  const a = rect({latin:?}), b = rect({hebrew:?});
  const out = document.createElement('output');
  out.id = 'order';
  out.textContent = !a || !b ? 'missing' : a.left > b.left ? 'latin-right-of-hebrew' : 'latin-left-of-hebrew';
  document.body.appendChild(out);
}});
</script></body>"#
    );
    html.replacen("</body>", &probe, 1)
}

#[test]
fn a_hebrew_update_starting_with_a_latin_word_reads_right_to_left_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let catalogs = catalogs();
    let (he, footer) = rendered(&catalogs, "he", SERVICE, UPDATE);
    let html = email(&he, &footer);
    // "Visa לא עובד": read right to left, "Visa" comes first, so it sits at the right.
    let dom = dump_dom(
        &chromium,
        "email-he-word-order",
        &with_word_order_probe(&html, "Visa", "עובד"),
    );
    assert!(dom.contains(">latin-right-of-hebrew</output>"), "{dom}");
    // The probe sees the difference: isolated by its first strong letter (FSI, a plain
    // <bdi>), the same sentence is laid out left to right and "Visa" lands at the left.
    let first_strong = html.replacen("<bdi dir=\"rtl\">", "<bdi>", 1);
    assert_ne!(first_strong, html);
    let dom = dump_dom(
        &chromium,
        "email-he-word-order-fsi",
        &with_word_order_probe(&first_strong, "Visa", "עובד"),
    );
    assert!(dom.contains(">latin-left-of-hebrew</output>"), "{dom}");
}
