//! Webhooks over HTTP, on the blocking `ureq` client (feature `http`); the plumbing the SMS
//! gateway notifier shares.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use serde::Serialize;

use super::{Secret, header_safe, scrub};
use crate::lifecycle::{Audience, Notification};
use crate::model::IncidentId;
use crate::notify::{DeliveryError, Notifier};

/// Where [`WebhookNotifier::telegram`] sends: the Telegram Bot API.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// The longest message Telegram takes, in UTF-16 code units.
const TELEGRAM_MAX_UNITS: usize = 4096;

/// How much of an error response's body is read, and how much of it is quoted.
const ERROR_BODY_READ: u64 = 4096;
const ERROR_BODY_QUOTED: usize = 200;

/// The default timeout for a whole request, connection and response included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking HTTP client with one timeout for the whole exchange, no redirects followed and
/// statuses left to the caller.
#[derive(Clone)]
pub(crate) struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Http {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("incidents/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
            timeout,
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POSTs `body` as JSON to `url`. `what` names the receiver in error messages ("webhook",
    /// "sms gateway"). 2xx is success; 408, 429 and 5xx are transient; other statuses
    /// permanent; network trouble and timeouts transient. Every `secret` (and the URL) is cut
    /// out of the error message, which never quotes the URL.
    pub(crate) fn post_json(
        &self,
        what: &str,
        url: &Secret,
        body: &[u8],
        headers: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<(), DeliveryError> {
        let url_text = url.expose();
        let path = url_text
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("");
        let mut all_secrets = vec![url_text];
        // A long path is where webhook URLs keep their token; a short one ("/", "/hook") is
        // not worth garbling messages over.
        if path.len() >= 8 {
            all_secrets.push(path);
        }
        all_secrets.extend_from_slice(secrets);
        let clean = |text: String| scrub(&text, &all_secrets);

        let mut request = self
            .agent
            .post(url_text)
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(e) => return Err(self.error(what, &e, clean)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut quoted = Vec::new();
        // The body is only quoted; if it cannot be read the status says enough.
        let _ = response
            .body_mut()
            .as_reader()
            .take(ERROR_BODY_READ)
            .read_to_end(&mut quoted);
        let quoted = String::from_utf8_lossy(&quoted);
        let quoted: String = quoted
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(ERROR_BODY_QUOTED)
            .collect();
        let mut text = format!("{what} answered {}", status.as_u16());
        if let Some(reason) = status.canonical_reason() {
            text.push(' ');
            text.push_str(reason);
        }
        if status.is_redirection() {
            text.push_str(" (redirects are not followed: is the URL current?)");
        }
        if !quoted.is_empty() {
            text.push_str(": ");
            text.push_str(&quoted);
        }
        let text = clean(text);
        match status.as_u16() {
            408 | 429 | 500..=599 => Err(DeliveryError::new(text)),
            _ => Err(DeliveryError::permanent(text)),
        }
    }

    /// A ureq error as a delivery error. Its own text is used only for variants known not to
    /// quote the URL.
    fn error(
        &self,
        what: &str,
        e: &ureq::Error,
        clean: impl Fn(String) -> String,
    ) -> DeliveryError {
        use ureq::Error as E;
        match e {
            E::Timeout(_) => {
                DeliveryError::new(format!("{what}: no answer within {:?}", self.timeout))
            }
            E::Io(io) => DeliveryError::new(clean(format!("could not reach the {what}: {io}"))),
            E::HostNotFound => DeliveryError::new(format!("{what}: host not found")),
            E::ConnectionFailed => DeliveryError::new(format!("could not connect to the {what}")),
            E::Protocol(p) => {
                DeliveryError::new(clean(format!("the {what} broke the HTTP protocol: {p}")))
            }
            E::BadUri(_) => DeliveryError::permanent(format!("the {what} URL is not valid")),
            E::Http(_) => DeliveryError::permanent(format!(
                "the request to the {what} is not valid (a header name or value?)"
            )),
            E::Tls(reason) => DeliveryError::permanent(clean(format!("{what}: TLS: {reason}"))),
            E::Rustls(tls) => DeliveryError::permanent(clean(format!("{what}: TLS: {tls}"))),
            E::Pem(_) => DeliveryError::permanent(format!("{what}: TLS: bad PEM")),
            E::TlsRequired => DeliveryError::permanent(format!("{what}: TLS required")),
            E::RequireHttpsOnly(_) => {
                DeliveryError::permanent(format!("the {what} URL must be https"))
            }
            E::TooManyRedirects | E::RedirectFailed => DeliveryError::permanent(format!(
                "the {what} redirected (redirects are not followed: is the URL current?)"
            )),
            E::InvalidProxyUrl | E::ConnectProxyFailed(_) => {
                DeliveryError::new(format!("{what}: the HTTP proxy failed"))
            }
            _ => DeliveryError::new(format!("the request to the {what} failed")),
        }
    }
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Format {
    Json,
    Slack,
    Telegram { chat_id: String },
}

/// Posts each notification as JSON to a URL: the [documented body](#the-json-body), a
/// Slack-compatible incoming-webhook message, or a Telegram bot's `sendMessage`.
///
/// Every request is one `POST` with `Content-Type: application/json` and the notification
/// key in `Idempotency-Key` and `X-Incident-Key` headers (bytes outside printable ASCII
/// percent-encoded), so a receiver can drop redeliveries. Redirects are not followed.
///
/// # Errors
///
/// 2xx is delivered. 408, 429 and 5xx answers, timeouts and connection failures are
/// **transient** (the outbox retries); any other answer (400, 401, 403, 404, 410, a
/// redirect, …) and an invalid URL are **permanent**. Messages quote the status and the start
/// of the response body, never the URL, the bot token or a header value given to
/// [`header`](Self::header).
///
/// # The JSON body
///
/// [`WebhookNotifier::json`] sends (`channel` is `null` when the policy gives none;
/// `incident` is `null` — present, not absent — for a message about no incident, such as a
/// shift reminder from an [on-call schedule](crate::oncall::Schedule::with_reminder)):
///
/// ```json
/// {
///   "version": 1,
///   "key": "019d0000-0000-7000-8000-000000000001/escalation/0/0",
///   "incident": "019d0000-0000-7000-8000-000000000001",
///   "audience": {"recipients": ["incident_owner", {"person": "dana"}, {"role": "responder"}, {"channel": "ops"}]},
///   "recipients": ["the incident owner", "dana", "every responder", "#ops"],
///   "channel": "chat",
///   "subject": "[critical] Till won't take cards (POS) needs someone",
///   "body": "Incident 019d… on POS is open and nobody has acknowledged it …"
/// }
/// ```
///
/// `audience` is `"owner"`, `"customers"` or `{"recipients": [...]}` as in the crate's
/// events; `recipients` says the same in words (empty for owner and customers). A
/// notification rendered from catalogs (feature `l10n`) also has `"locale"` (the language
/// it is written in, `"he"`) and, where the message has one, `"sms"` (its SMS text).
///
/// # Slack and Telegram
///
/// [`slack`](Self::slack) sends `{"text": "*SUBJECT*\nBODY"}` (with `&`, `<`, `>` escaped as
/// Slack asks); Mattermost, Rocket.Chat and Discord's `/slack` endpoints take the same.
/// [`telegram`](Self::telegram) posts `{"chat_id": CHAT, "text": "SUBJECT\n\nBODY",
/// "disable_web_page_preview": true}` to `https://api.telegram.org/bot<TOKEN>/sendMessage`,
/// cut to Telegram's 4096 characters.
///
/// ```no_run
/// use std::time::Duration;
/// use incidents::notifiers::WebhookNotifier;
/// use incidents::{Desk, MemoryStore, SystemClock};
///
/// let desk = Desk::new(MemoryStore::new(), SystemClock)?;
/// let slack = WebhookNotifier::slack(std::env::var("SLACK_WEBHOOK_URL")?)
///     .timeout(Duration::from_secs(5));
/// desk.dispatch(&slack)?;
///
/// // A Telegram group, or the shop's own endpoint, work the same way:
/// let telegram = WebhookNotifier::telegram(std::env::var("TELEGRAM_BOT_TOKEN")?, "-1001234567890");
/// let own = WebhookNotifier::json("https://ops.bakery.example/hooks/incidents")
///     .header("Authorization", format!("Bearer {}", std::env::var("HOOK_TOKEN")?));
/// # let _ = (telegram, own);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WebhookNotifier {
    url: Secret,
    format: Format,
    headers: Vec<(String, Secret)>,
    /// Secrets inside the URL that are not the URL itself (a bot token).
    hidden: Vec<Secret>,
    http: Http,
}

impl WebhookNotifier {
    fn new(url: Secret, format: Format, hidden: Vec<Secret>) -> WebhookNotifier {
        WebhookNotifier {
            url,
            format,
            headers: Vec::new(),
            hidden,
            http: Http::new(DEFAULT_TIMEOUT),
        }
    }

    /// Posts the [documented JSON body](#the-json-body) to `url`. Timeout 10 seconds.
    pub fn json(url: impl Into<Secret>) -> WebhookNotifier {
        WebhookNotifier::new(url.into(), Format::Json, Vec::new())
    }

    /// Posts `{"text": ...}` to a Slack-compatible incoming webhook `url` (which is a
    /// secret: anyone with it can post). Timeout 10 seconds.
    pub fn slack(url: impl Into<Secret>) -> WebhookNotifier {
        WebhookNotifier::new(url.into(), Format::Slack, Vec::new())
    }

    /// Sends through the Telegram bot with `bot_token` to `chat_id` (a number such as
    /// `-1001234567890` or a `@channelname`). Timeout 10 seconds.
    pub fn telegram(bot_token: impl Into<Secret>, chat_id: impl Into<String>) -> WebhookNotifier {
        WebhookNotifier::telegram_at(TELEGRAM_API, bot_token, chat_id)
    }

    /// [`telegram`](Self::telegram) through a Bot API server at `api_base` instead of
    /// [`TELEGRAM_API`]: a self-hosted Bot API server, a proxy, or a test server.
    pub fn telegram_at(
        api_base: &str,
        bot_token: impl Into<Secret>,
        chat_id: impl Into<String>,
    ) -> WebhookNotifier {
        let token = bot_token.into();
        let url = format!(
            "{}/bot{}/sendMessage",
            api_base.trim_end_matches('/'),
            token.expose()
        );
        WebhookNotifier::new(
            url.into(),
            Format::Telegram {
                chat_id: chat_id.into(),
            },
            vec![token],
        )
    }

    /// How long one delivery may take, connecting and reading the answer included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> WebhookNotifier {
        self.http = Http::new(timeout);
        self
    }

    /// Adds a header to every request, such as `Authorization`. The value is treated as a
    /// secret.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> WebhookNotifier {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The JSON this notifier posts for `n`.
    fn body(&self, n: &Notification) -> serde_json::Value {
        match &self.format {
            Format::Json => serde_json::json!(Body {
                version: 1,
                key: &n.key,
                incident: n.incident,
                audience: &n.audience,
                recipients: match &n.audience {
                    Audience::Recipients(r) => r.iter().map(ToString::to_string).collect(),
                    Audience::Owner | Audience::Customers => Vec::new(),
                },
                channel: n.channel.as_deref(),
                subject: &n.subject,
                body: &n.body,
                locale: n.locale.as_deref(),
                sms: n.sms.as_deref(),
            }),
            Format::Slack => serde_json::json!({
                "text": format!("*{}*\n{}", slack_escape(&n.subject), slack_escape(&n.body)),
            }),
            Format::Telegram { chat_id } => serde_json::json!({
                "chat_id": chat_id,
                "text": utf16_prefix(&format!("{}\n\n{}", n.subject, n.body), TELEGRAM_MAX_UNITS),
                "disable_web_page_preview": true,
            }),
        }
    }

    fn what(&self) -> &'static str {
        match self.format {
            Format::Json | Format::Slack => "webhook",
            Format::Telegram { .. } => "telegram",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    version: u32,
    key: &'a str,
    incident: Option<IncidentId>,
    audience: &'a Audience,
    recipients: Vec<String>,
    channel: Option<&'a str>,
    subject: &'a str,
    body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sms: Option<&'a str>,
}

impl Notifier for WebhookNotifier {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let body = self.body(n).to_string();
        let key = header_safe(&n.key);
        let mut headers: Vec<(&str, &str)> =
            vec![("Idempotency-Key", &key), ("X-Incident-Key", &key)];
        let mut secrets: Vec<&str> = self.hidden.iter().map(Secret::expose).collect();
        for (name, value) in &self.headers {
            headers.push((name, value.expose()));
            secrets.push(value.expose());
        }
        self.http
            .post_json(self.what(), &self.url, body.as_bytes(), &headers, &secrets)
    }
}

#[allow(
    clippy::missing_fields_in_debug,
    reason = "secrets are left out, and the client is shown by its timeout"
)]
impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("WebhookNotifier");
        match &self.format {
            Format::Json => d.field("format", &"json"),
            Format::Slack => d.field("format", &"slack"),
            Format::Telegram { chat_id } => {
                d.field("format", &"telegram").field("chat_id", chat_id)
            }
        };
        d.field("url", &self.url)
            .field("headers", &self.headers)
            .field("timeout", &self.http.timeout())
            .finish()
    }
}

/// Slack's three control characters escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The longest prefix of `text` (whole characters) of at most `max` UTF-16 code units.
fn utf16_prefix(text: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &text[..i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Recipient;

    fn note(audience: Audience) -> Notification {
        Notification {
            key: "019d0000-0000-7000-8000-000000000001/escalation/0/0".into(),
            incident: Some("019d0000-0000-7000-8000-000000000001".parse().unwrap()),
            audience,
            channel: Some("chat".into()),
            subject: "Till <2> & card".into(),
            body: "Nobody has acknowledged it.".into(),
            locale: None,
            sms: None,
        }
    }

    #[test]
    fn the_json_body_is_as_documented() {
        let n = note(Audience::Recipients(vec![
            Recipient::IncidentOwner,
            Recipient::Person("dana".into()),
            Recipient::Role(crate::Role::Responder),
            Recipient::Channel("ops".into()),
        ]));
        let body = WebhookNotifier::json("http://x.example/hook").body(&n);
        assert_eq!(
            body,
            serde_json::json!({
                "version": 1,
                "key": "019d0000-0000-7000-8000-000000000001/escalation/0/0",
                "incident": "019d0000-0000-7000-8000-000000000001",
                "audience": {"recipients": ["incident_owner", {"person": "dana"}, {"role": "responder"}, {"channel": "ops"}]},
                "recipients": ["the incident owner", "dana", "every responder", "#ops"],
                "channel": "chat",
                "subject": "Till <2> & card",
                "body": "Nobody has acknowledged it."
            })
        );
        let mut owner = note(Audience::Owner);
        owner.channel = None;
        let body = WebhookNotifier::json("http://x.example/hook").body(&owner);
        assert_eq!(body["audience"], "owner");
        assert_eq!(body["recipients"], serde_json::json!([]));
        assert_eq!(body["channel"], serde_json::Value::Null);
    }

    #[test]
    fn a_notification_about_no_incident_has_a_null_incident() {
        let mut n = note(Audience::Recipients(vec![Recipient::Person("dana".into())]));
        n.incident = None;
        let body = WebhookNotifier::json("http://x.example/hook").body(&n);
        assert_eq!(body["incident"], serde_json::Value::Null);
        assert!(body.as_object().is_some_and(|o| o.contains_key("incident")));
        assert_eq!(body["recipients"], serde_json::json!(["dana"]));
    }

    #[test]
    fn slack_and_telegram_shapes() {
        let n = note(Audience::Owner);
        assert_eq!(
            WebhookNotifier::slack("http://x.example/services/T/B/x").body(&n),
            serde_json::json!({"text": "*Till &lt;2&gt; &amp; card*\nNobody has acknowledged it."})
        );
        let telegram = WebhookNotifier::telegram_at("http://127.0.0.1:1/", "123:abc", "-100");
        assert_eq!(
            telegram.url.expose(),
            "http://127.0.0.1:1/bot123:abc/sendMessage"
        );
        assert_eq!(
            telegram.body(&n),
            serde_json::json!({
                "chat_id": "-100",
                "text": "Till <2> & card\n\nNobody has acknowledged it.",
                "disable_web_page_preview": true
            })
        );
        let mut long = n.clone();
        long.body = "😀".repeat(3000);
        let text = telegram.body(&long)["text"].as_str().unwrap().to_string();
        assert!(text.encode_utf16().count() <= TELEGRAM_MAX_UNITS);
        assert!(text.encode_utf16().count() >= TELEGRAM_MAX_UNITS - 1);
        assert_eq!(
            WebhookNotifier::telegram("t", "c").url.expose(),
            "https://api.telegram.org/bott/sendMessage"
        );
    }

    #[test]
    fn debug_shows_no_url_token_or_header_value() {
        let shown = format!(
            "{:?} {:?} {:?}",
            WebhookNotifier::slack("https://hooks.slack.com/services/T0/B0/SeCrEt"),
            WebhookNotifier::telegram("123456:TOKEN-xyz", "-100"),
            WebhookNotifier::json("https://x.example/h").header("Authorization", "Bearer sekrit"),
        );
        for secret in ["SeCrEt", "TOKEN-xyz", "sekrit", "x.example"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("\"-100\""), "{shown}");
    }

    #[test]
    fn utf16_prefixes_keep_whole_characters() {
        assert_eq!(utf16_prefix("a😀b", 2), "a");
        assert_eq!(utf16_prefix("a😀b", 3), "a😀");
        assert_eq!(utf16_prefix("abc", 10), "abc");
    }
}
