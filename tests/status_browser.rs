//! The status page as a person's browser shows it: published from a desk, opened from its
//! file in headless Chromium through WebDriver (chromedriver), in English and Hebrew, light
//! and dark. Each page must raise no console error, fetch nothing, say its language and
//! direction (and lay the body out right to left in Hebrew), and pass axe-core's WCAG 2.0,
//! 2.1 and 2.2 A and AA rules in both colour schemes; a hostile public title must run no
//! script. Screenshots stay in `target/status-screenshots/`.
//!
//! chromedriver is `INCIDENTS_WEBDRIVER`; without it the tests print that they were skipped
//! and pass. Set but unreachable, they fail. Run them with
//!
//! ```sh
//! eval "$(bash scripts/webdriver.sh start)"
//! cargo test --features status --test status_browser
//! bash scripts/webdriver.sh stop
//! ```
//!
//! (`.ci/run` does.) axe-core is vendored in `tests/vendor/axe-core-4.10.3/`.
#![cfg(feature = "status")]

mod support {
    pub mod status_pages;
    pub mod webdriver;
}

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use support::status_pages::{self, HOSTILE_TITLE, Page};
use support::webdriver::{Driver, Session};

const AXE: &str = include_str!("vendor/axe-core-4.10.3/axe.min.js");

/// The window the pages are first opened in (a laptop's width).
const WIDTH: u32 = 1024;
const HEIGHT: u32 = 768;

/// The driver, or `None` after saying the test is skipped. Set but unreachable: a panic.
fn driver(test: &str) -> Option<Driver> {
    match Driver::from_env() {
        None => {
            println!(
                "{test}: skipped: INCIDENTS_WEBDRIVER is not set; run \
                 `eval \"$(bash scripts/webdriver.sh start)\"` first to run the browser tests"
            );
            None
        }
        Some(Ok(driver)) => Some(driver),
        Some(Err(e)) => panic!("{test}: INCIDENTS_WEBDRIVER is set but unusable: {e}"),
    }
}

/// A scratch directory under target/ (the browser runs as another user and reads it).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("status-browser")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("status-screenshots");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// axe-core's violations of the WCAG 2.0/2.1/2.2 A and AA rules on the page now open, as
/// readable lines (empty: none). Injects axe first if the page lacks it.
fn axe_violations(session: &Session<'_>) -> Vec<String> {
    let present = session
        .execute("return typeof window.axe === 'object';", &[])
        .unwrap();
    if present != Value::Bool(true) {
        session.execute(AXE, &[]).unwrap();
    }
    let result = session
        .execute_async(
            r"const done = arguments[arguments.length - 1];
              window.axe
                .run(document, {runOnly: {type: 'tag',
                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
                .then(r => done({
                    passes: r.passes.length,
                    violations: r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => ({
                            target: n.target.join(' '),
                            html: n.html,
                            summary: n.failureSummary,
                        })),
                    })),
                }))
                .catch(e => done({error: String(e)}));",
            &[],
        )
        .unwrap();
    assert!(
        result.get("error").is_none(),
        "axe failed to run: {}",
        result["error"]
    );
    assert!(
        result["passes"].as_u64().unwrap_or(0) > 0,
        "axe checked nothing: {result}"
    );
    let mut lines = Vec::new();
    for violation in result["violations"].as_array().unwrap() {
        let mut line = format!(
            "{} ({}): {}",
            violation["id"].as_str().unwrap_or("?"),
            violation["impact"].as_str().unwrap_or("?"),
            violation["help"].as_str().unwrap_or("?")
        );
        for node in violation["nodes"].as_array().unwrap() {
            let _ = write!(
                line,
                "\n    at {}: {}\n      {}",
                node["target"].as_str().unwrap_or("?"),
                node["html"].as_str().unwrap_or("?"),
                node["summary"]
                    .as_str()
                    .unwrap_or("?")
                    .replace('\n', "\n      ")
            );
        }
        lines.push(line);
    }
    lines
}

/// What a page must be, and the screenshot name.
struct Expect<'a> {
    lang: &'a str,
    dir: &'a str,
    shot: &'a str,
}

/// Opens `page` in a fresh session and checks it in light and dark, then screenshots both;
/// returns every problem found (empty: none).
fn check_page(driver: &Driver, page: &Path, expect: &Expect<'_>) -> Vec<String> {
    let session = driver.session(WIDTH, HEIGHT).unwrap();
    let url = support::webdriver::file_url(page).unwrap();
    let mut problems = Vec::new();
    for dark in [false, true] {
        let scheme = if dark { "dark" } else { "light" };
        session.emulate_color_scheme(dark).unwrap();
        session.navigate(&url).unwrap();
        if let Some(text) = session.open_dialog().unwrap() {
            problems.push(format!("{scheme}: a dialog opened: {text:?}"));
            continue;
        }

        // Nothing logged as an error, nothing fetched beyond the page itself.
        for entry in session.log("browser").unwrap() {
            if entry.level == "SEVERE" {
                problems.push(format!("{scheme}: console error: {}", entry.message));
            }
        }
        for requested in session.requested_urls().unwrap() {
            if requested != url {
                problems.push(format!("{scheme}: requested {requested}"));
            }
        }
        let facts = session
            .execute(
                "return {
                    resources: performance.getEntriesByType('resource').map(e => e.name),
                    lang: document.documentElement.lang,
                    dir: document.documentElement.dir,
                    direction: getComputedStyle(document.body).direction,
                    scripts: document.scripts.length,
                    scheme: matchMedia('(prefers-color-scheme: dark)').matches,
                };",
                &[],
            )
            .unwrap();
        if facts["resources"] != json!([]) {
            problems.push(format!(
                "{scheme}: resources loaded: {}",
                facts["resources"]
            ));
        }
        if facts["scripts"] != json!(0) {
            problems.push(format!("{scheme}: {} script elements", facts["scripts"]));
        }
        if facts["scheme"] != json!(dark) {
            problems.push(format!("{scheme}: the colour scheme was not emulated"));
        }
        for (key, want) in [
            ("lang", expect.lang),
            ("dir", expect.dir),
            ("direction", expect.dir),
        ] {
            if facts[key] != json!(want) {
                problems.push(format!("{scheme}: {key} is {}, not {want:?}", facts[key]));
            }
        }

        for violation in axe_violations(&session) {
            problems.push(format!("{scheme}: axe: {violation}"));
        }

        // The whole page: the window as tall as the document (and its chrome), then back.
        let size = session
            .execute(
                "return [document.documentElement.scrollHeight,
                         window.outerHeight - window.innerHeight];",
                &[],
            )
            .unwrap();
        let content = size[0].as_u64().unwrap_or(u64::from(HEIGHT));
        let chrome = size[1].as_u64().unwrap_or(0);
        let tall = u32::try_from((content + chrome).clamp(u64::from(HEIGHT), 16_000)).unwrap();
        session.set_window_size(WIDTH, tall).unwrap();
        let shot = screenshot_dir().join(format!("{}-{scheme}.png", expect.shot));
        session.save_screenshot(&shot).unwrap();
        session.set_window_size(WIDTH, HEIGHT).unwrap();
        let png = fs::read(&shot).unwrap();
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") || png.len() < 1000 {
            problems.push(format!(
                "{scheme}: no real screenshot at {}",
                shot.display()
            ));
        }
    }
    problems
}

fn report(name: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{name}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The checks are not vacuous: a page with every fault they look for shows each one.
#[test]
fn the_checks_catch_a_faulty_page() {
    let Some(driver) = driver("the_checks_catch_a_faulty_page") else {
        return;
    };
    let dir = scratch("faulty");
    let page = dir.join("faulty.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>x</title></head><body>\
         <p style=\"color:#bbb;background:#fff\">pale text</p>\
         <img src=\"https://example.invalid/logo.png\">\
         <script>console.error('boom');</script></body></html>",
    )
    .unwrap();
    let page = support::webdriver::browsable(&page).unwrap();
    let problems = check_page(
        &driver,
        &page,
        &Expect {
            lang: "he",
            dir: "rtl",
            shot: "self-test-faulty",
        },
    );
    let all = problems.join("\n");
    for wanted in [
        "light: console error",
        "light: requested https://example.invalid/logo.png",
        "light: 1 script elements",
        "light: lang is \"\"",
        "light: dir is \"\"",
        "light: direction is \"ltr\"",
        "light: axe: color-contrast",
        "light: axe: html-has-lang",
        "light: axe: image-alt",
        "dark: axe: image-alt",
    ] {
        assert!(all.contains(wanted), "missing {wanted:?} in:\n{all}");
    }
}

/// The English and Hebrew pages, light and dark: no console error, no request, `lang`,
/// `dir` and the body's direction, axe's WCAG 2.x A/AA rules; screenshots of each.
#[test]
fn english_and_hebrew_pages_pass_in_light_and_dark() {
    let Some(driver) = driver("english_and_hebrew_pages_pass_in_light_and_dark") else {
        return;
    };
    const TEST: &str = "browser";
    let mut problems = Vec::new();
    for (page, lang, dir) in [(Page::English, "en", "ltr"), (Page::Hebrew, "he", "rtl")] {
        let index = status_pages::publish(TEST, page).join("index.html");
        let index = support::webdriver::browsable(&index).unwrap();
        let expect = Expect {
            lang,
            dir,
            shot: page.name(),
        };
        for problem in check_page(&driver, &index, &expect) {
            problems.push(format!("{}: {problem}", page.name()));
        }
    }
    report("the status pages", &problems);
}

/// A public title and customer update made of markup run nothing and add no element: no
/// dialog, no script element, no iframe; the text shows as text.
#[test]
fn a_hostile_title_runs_no_script() {
    let Some(driver) = driver("a_hostile_title_runs_no_script") else {
        return;
    };
    let index = status_pages::publish("hostile", Page::Hostile).join("index.html");
    let index = support::webdriver::browsable(&index).unwrap();
    let session = driver.session(WIDTH, HEIGHT).unwrap();
    session.open_file(&index).unwrap();
    assert_eq!(session.open_dialog().unwrap(), None, "a dialog opened");
    let facts = session
        .execute(
            "return {
                scripts: document.scripts.length,
                iframes: document.getElementsByTagName('iframe').length,
                images: document.images.length,
                handlers: [...document.querySelectorAll('*')]
                    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
                text: document.body.innerText,
                hidden: getComputedStyle(document.body).display === 'none',
            };",
            &[],
        )
        .unwrap();
    assert_eq!(facts["scripts"], json!(0), "{facts}");
    assert_eq!(facts["iframes"], json!(0), "{facts}");
    assert_eq!(facts["images"], json!(0), "{facts}");
    assert_eq!(facts["handlers"], json!(0), "{facts}");
    assert_eq!(facts["hidden"], json!(false), "{facts}");
    let text = facts["text"].as_str().unwrap();
    // The markup shows as the text it is (the bidi override is dropped or isolated).
    assert!(
        text.contains("<script>alert('title')</script>"),
        "the title is not shown as text: {text}"
    );
    assert!(
        text.contains("<script>alert('update')</script>"),
        "the update is not shown as text: {text}"
    );
    assert!(HOSTILE_TITLE.contains("<script>"));
    let errors: Vec<_> = session
        .log("browser")
        .unwrap()
        .into_iter()
        .filter(|e| e.level == "SEVERE")
        .map(|e| e.message)
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let requested = session.requested_urls().unwrap();
    let url = support::webdriver::file_url(&index).unwrap();
    assert!(
        requested.iter().all(|r| *r == url),
        "requests beyond the page: {requested:?}"
    );
    let shot = screenshot_dir().join("hostile-light.png");
    session.save_screenshot(&shot).unwrap();
    assert_eq!(
        session.open_dialog().unwrap(),
        None,
        "a dialog opened later"
    );
}
