//! A small blocking W3C WebDriver client for the browser tests, speaking HTTP/JSON to
//! chromedriver (started by `scripts/webdriver.sh`) with `ureq`.
//!
//! Only what the tests use: a headless Chromium session with browser and performance logs,
//! navigation, synchronous and asynchronous scripts, window size, screenshots, the
//! `se/log` logs, Chrome DevTools Protocol commands through chromedriver, and the open
//! dialog if any. The session is deleted on drop.
#![allow(dead_code)] // Each test binary uses a different part of it.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The element key of a W3C web element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What went wrong talking to the driver: transport, HTTP, or a WebDriver error.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn err(what: impl fmt::Display) -> Error {
    Error(what.to_string())
}

/// A chromedriver at `base` (`http://127.0.0.1:PORT`).
pub struct Driver {
    agent: ureq::Agent,
    base: String,
}

impl Driver {
    /// The driver named by `INCIDENTS_WEBDRIVER`: `None` when it is unset or empty; an error
    /// when it is set but does not answer `/status` with `ready: true`.
    pub fn from_env() -> Option<Result<Driver>> {
        let base = std::env::var("INCIDENTS_WEBDRIVER").ok()?;
        let base = base.trim().trim_end_matches('/').to_owned();
        if base.is_empty() {
            return None;
        }
        Some(Driver::connect(&base))
    }

    /// Connects to the driver at `base` and checks that it is ready for a new session.
    pub fn connect(base: &str) -> Result<Driver> {
        let config = ureq::Agent::config_builder()
            // WebDriver errors are JSON bodies with 4xx/5xx statuses: read them.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(90)))
            .build();
        let driver = Driver {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_owned(),
        };
        let status = driver
            .call("GET", "/status", None)
            .map_err(|e| err(format!("INCIDENTS_WEBDRIVER={base} does not answer: {e}")))?;
        if status["ready"] != Value::Bool(true) {
            return Err(err(format!(
                "INCIDENTS_WEBDRIVER={base} is not ready for a new session: {status}"
            )));
        }
        Ok(driver)
    }

    /// One WebDriver command: its `value`, or the WebDriver error it answered.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(body)) => self.agent.post(&url).send_json(body),
            (_, None) => self.agent.post(&url).send_json(json!({})),
        };
        let mut response = response.map_err(|e| err(format!("{method} {url}: {e}")))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .map_err(|e| err(format!("{method} {url}: reading the answer: {e}")))?;
        let parsed: Value = serde_json::from_str(&text)
            .map_err(|e| err(format!("{method} {url}: {status}, not JSON ({e}): {text}")))?;
        let value = parsed.get("value").cloned().unwrap_or(Value::Null);
        if !status.is_success() || value.get("error").is_some_and(Value::is_string) {
            let message = value["message"].as_str().unwrap_or_default();
            let message = message.lines().next().unwrap_or_default();
            return Err(err(format!(
                "{method} {path}: {status} {}: {message}",
                value["error"].as_str().unwrap_or("error")
            )));
        }
        Ok(value)
    }

    /// A new headless Chromium session with a window of `width`×`height`, keeping all browser
    /// and performance (network) log entries. Chromium is `INCIDENTS_CHROMIUM` if set (else
    /// chromedriver's own choice).
    pub fn session(&self, width: u32, height: u32) -> Result<Session<'_>> {
        let mut options = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                format!("--window-size={width},{height}"),
            ],
        });
        if let Ok(binary) = std::env::var("INCIDENTS_CHROMIUM")
            && !binary.trim().is_empty()
        {
            options["binary"] = Value::String(binary);
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options,
                    "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
                    // A dialog stays open for the test to find (and fails the next command).
                    "unhandledPromptBehavior": "ignore",
                }
            }
        });
        let value = self.call("POST", "/session", Some(&capabilities))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("new session: no sessionId in {value}")))?
            .to_owned();
        let session = Session { driver: self, id };
        session.call(
            "POST",
            "/timeouts",
            Some(&json!({"script": 60_000, "pageLoad": 60_000})),
        )?;
        Ok(session)
    }
}

/// One browser session; deleted (the browser closed) on drop.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

/// One entry of a browser or performance log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// The message (for the performance log: a JSON text of one DevTools event).
    pub message: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.driver
            .call(method, &format!("/session/{}{}", self.id, path), body)
    }

    /// Loads `url` and waits for it to load.
    pub fn navigate(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(&json!({"url": url})))
            .map(drop)
    }

    /// Loads a local file.
    pub fn open_file(&self, path: &Path) -> Result<()> {
        self.navigate(&file_url(path)?)
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns what it returns.
    pub fn execute(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` asynchronously: it calls its last argument with the result.
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.call(
            "POST",
            "/execute/async",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// Sets the window's outer size.
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.call(
            "POST",
            "/window/rect",
            Some(&json!({"width": width, "height": height})),
        )
        .map(drop)
    }

    /// The viewport as a PNG.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let value = self.call("GET", "/screenshot", None)?;
        let text = value
            .as_str()
            .ok_or_else(|| err("screenshot: not a string"))?;
        base64_decode(text)
    }

    /// The viewport as a PNG file at `path` (its directory created).
    pub fn save_screenshot(&self, path: &Path) -> Result<()> {
        let png = self.screenshot()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        }
        std::fs::write(path, png).map_err(|e| err(format!("{}: {e}", path.display())))
    }

    /// The log entries of `kind` (`browser`, `performance`) since the last read.
    pub fn log(&self, kind: &str) -> Result<Vec<LogEntry>> {
        let value = self.call("POST", "/se/log", Some(&json!({"type": kind})))?;
        let entries = value
            .as_array()
            .ok_or_else(|| err(format!("{kind} log: not an array: {value}")))?;
        Ok(entries
            .iter()
            .map(|entry| LogEntry {
                level: entry["level"].as_str().unwrap_or_default().to_owned(),
                message: entry["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    /// The URLs the page requested, from the performance log's `Network.requestWillBeSent`
    /// events (since the log was last read).
    pub fn requested_urls(&self) -> Result<Vec<String>> {
        let mut urls = Vec::new();
        for entry in self.log("performance")? {
            let Ok(event) = serde_json::from_str::<Value>(&entry.message) else {
                continue;
            };
            let event = &event["message"];
            if event["method"] == "Network.requestWillBeSent" {
                let url = event["params"]["request"]["url"].as_str().unwrap_or("?");
                urls.push(url.to_owned());
            }
        }
        Ok(urls)
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub fn cdp(&self, command: &str, params: &Value) -> Result<Value> {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({"cmd": command, "params": params})),
        )
    }

    /// Emulates `prefers-color-scheme: dark` (or light).
    pub fn emulate_color_scheme(&self, dark: bool) -> Result<()> {
        let scheme = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            &json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .map(drop)
    }

    /// The text of an open alert, confirm or prompt, if one is open.
    pub fn open_dialog(&self) -> Result<Option<String>> {
        match self.call("GET", "/alert/text", None) {
            Ok(text) => Ok(Some(text.as_str().unwrap_or_default().to_owned())),
            Err(e) if e.0.contains("no such alert") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the element reference `value` is one (for scripts returning elements).
    pub fn is_element(value: &Value) -> bool {
        value.get(ELEMENT_KEY).is_some()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .call("DELETE", &format!("/session/{}", self.id), None);
    }
}

/// A copy of the directory holding `page` (recursively) where the browser can read it, and
/// the copy's path of `page`.
///
/// chromedriver runs Chromium as another user (`nobody`); the checkout may sit under a
/// directory only its owner can enter (a `mktemp -d` clone is mode 700), so the pages are
/// copied under the system's temporary directory with world-readable modes first.
pub fn browsable(page: &Path) -> Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let io = |what: &Path, e: std::io::Error| err(format!("{}: {e}", what.display()));
    let from = page
        .parent()
        .ok_or_else(|| err(format!("{}: no directory", page.display())))?;
    let name = page
        .file_name()
        .ok_or_else(|| err(format!("{}: no file name", page.display())))?;
    let root = std::env::temp_dir().join(format!("incidents-browser-{}", std::process::id()));
    let to = root.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    let _ = std::fs::remove_dir_all(&to);
    copy_readable(from, &to).map_err(|e| io(from, e))?;
    open_up(&root).map_err(|e| io(&root, e))?;
    Ok(to.join(name))
}

/// Copies directory `from` to `to`, directories mode 755 and files 644.
fn copy_readable(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    open_up(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_readable(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))?;
            }
        }
    }
    Ok(())
}

/// Makes a directory enterable and readable by every user.
fn open_up(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    }
    let _ = dir;
    Ok(())
}

/// The `file://` URL of a local file (absolute; percent-encoding what a URL path may not
/// hold).
pub fn file_url(path: &Path) -> Result<String> {
    let path = std::fs::canonicalize(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let text = path
        .to_str()
        .ok_or_else(|| err(format!("{}: not UTF-8", path.display())))?;
    let mut url = String::from("file://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(url)
}

/// Standard base64 (with padding, as WebDriver sends screenshots).
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="));
    let data = data.unwrap_or(&bytes);
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | sextet(c).ok_or_else(|| err("base64: a bad character"))?;
        }
        let bits = chunk.len() * 6;
        let acc = acc << (24 - bits);
        let [_, a, b, c] = acc.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..bits / 8]);
    }
    Ok(out)
}

#[test]
fn base64_decodes_what_it_should() {
    assert_eq!(base64_decode("").unwrap(), b"");
    assert_eq!(base64_decode("Zg==").unwrap(), b"f");
    assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(base64_decode("Zm9vYmFy\n").unwrap(), b"foobar");
    assert!(base64_decode("Zm9v!").is_err());
}
