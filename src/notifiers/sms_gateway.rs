//! SMS through an HTTP gateway (feature `http`).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::http::Http;
use super::sms::{self, Encoding, PhoneNumber, Segments};
use super::{Route, Secret, audience_text, header_safe};
use crate::lifecycle::Notification;
use crate::notify::{DeliveryError, Notifier};

/// Sends each notification as one SMS text to the phone numbers a [`Route`] gives, through
/// an HTTP SMS gateway.
///
/// # The text and what it costs
///
/// The text is the subject, a line break and the body, without the directional isolation
/// marks [`Templates`](crate::notify::Templates) put around values when it is otherwise GSM-7 (they
/// would make it UCS-2 and change nothing on screen). If that takes more than
/// [`max_parts`](Self::max_parts) SMS (1 by default; see [`sms`] for how parts are counted,
/// Hebrew and other non-GSM scripts fit 70 characters in one), it is **shortened** to the
/// longest start that fits, ending in `...`: a page that arrives cut short does its job (the
/// full text is in the incident and in any e-mail), one that is refused does not. A text
/// that still takes more than one SMS is logged at `warn` level with its cost, and the gateway
/// is told its encoding and parts. [`text`](Self::text) shows what would be sent.
///
/// # The request
///
/// One `POST` per notification, to every number at once, with `Authorization: Bearer TOKEN`
/// (if a [token](Self::bearer_token) is set) and the key in `Idempotency-Key` and
/// `X-Incident-Key`:
///
/// ```json
/// {
///   "to": ["+972501234567", "+447700900123"],
///   "text": "[critical] Till won't take cards (POS) needs someone\nIncident 019d… on POS is open and...",
///   "reference": "019d0000-0000-7000-8000-000000000001/escalation/0/0",
///   "encoding": "gsm7",
///   "parts": 1
/// }
/// ```
///
/// `reference` is the notification key, the same on a redelivery; `encoding` is `gsm7` or
/// `ucs2`. A gateway with its own API is one small proxy away from this shape.
///
/// # Errors
///
/// As for [`WebhookNotifier`](super::WebhookNotifier): 2xx is delivered; 408, 429, 5xx,
/// timeouts and connection failures are transient; other answers permanent. A notification
/// that routes to no number fails permanently. Messages never quote the URL or the token.
///
/// ```no_run
/// use incidents::notifiers::sms::PhoneNumber;
/// use incidents::notifiers::{Directory, SmsGatewayNotifier};
/// use incidents::{Desk, MemoryStore, SystemClock};
///
/// let desk = Desk::new(MemoryStore::new(), SystemClock)?;
/// let on_call: Directory<PhoneNumber> = Directory::new().owner("+972 50 123 4567".parse()?);
/// let sms = SmsGatewayNotifier::new("https://sms.gateway.example/v1/messages", on_call)
///     .bearer_token(std::env::var("SMS_TOKEN")?)
///     .max_parts(2);
/// desk.dispatch(&sms)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SmsGatewayNotifier<R> {
    url: Secret,
    token: Option<Secret>,
    route: R,
    max_parts: usize,
    http: Http,
}

impl<R> SmsGatewayNotifier<R> {
    /// Sends to the gateway at `url`, to the numbers `route` gives. At most one SMS per
    /// text; no token; a 10-second timeout.
    pub fn new(url: impl Into<Secret>, route: R) -> SmsGatewayNotifier<R> {
        SmsGatewayNotifier {
            url: url.into(),
            token: None,
            route,
            max_parts: 1,
            http: Http::new(Duration::from_secs(10)),
        }
    }

    /// Authenticates with `Authorization: Bearer TOKEN`.
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> SmsGatewayNotifier<R> {
        self.token = Some(token.into());
        self
    }

    /// How many SMS one text may take (at least 1); longer texts are shortened.
    #[must_use]
    pub fn max_parts(mut self, parts: usize) -> SmsGatewayNotifier<R> {
        self.max_parts = parts.max(1);
        self
    }

    /// How long one delivery may take, connecting and reading the answer included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> SmsGatewayNotifier<R> {
        self.http = Http::new(timeout);
        self
    }

    /// The text sent for `n`: its [SMS text](Notification::sms) if it has one (rendered from
    /// catalogs, already made to fit), else subject and body; without the directional
    /// isolation marks if it is otherwise GSM-7 ([`sms::drop_isolates_if_gsm7`]), shortened to
    /// [`max_parts`](Self::max_parts).
    pub fn text(&self, n: &Notification) -> String {
        let full = if let Some(sms) = &n.sms {
            sms.clone()
        } else if n.body.is_empty() {
            n.subject.clone()
        } else {
            format!("{}\n{}", n.subject, n.body)
        };
        sms::fit(&sms::drop_isolates_if_gsm7(&full), self.max_parts)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    to: &'a [PhoneNumber],
    text: &'a str,
    reference: &'a str,
    encoding: Encoding,
    parts: usize,
}

impl<R: Route<PhoneNumber>> Notifier for SmsGatewayNotifier<R> {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let mut to: Vec<PhoneNumber> = Vec::new();
        for number in self.route.route(n) {
            if !to.contains(&number) {
                to.push(number);
            }
        }
        if to.is_empty() {
            return Err(DeliveryError::permanent(format!(
                "no phone number for {}",
                audience_text(&n.audience)
            )));
        }
        let text = self.text(n);
        let cost = Segments::of(&text);
        if cost.is_multipart() {
            log::warn!(
                "incidents: the SMS for {} takes {} parts ({} {} units) to each of {} numbers",
                n.key,
                cost.parts(),
                cost.units(),
                cost.encoding(),
                to.len()
            );
        }
        let body = serde_json::json!(Body {
            to: &to,
            text: &text,
            reference: &n.key,
            encoding: cost.encoding(),
            parts: cost.parts(),
        })
        .to_string();
        let key = header_safe(&n.key);
        let bearer = self
            .token
            .as_ref()
            .map(|t| format!("Bearer {}", t.expose()));
        let mut headers: Vec<(&str, &str)> =
            vec![("Idempotency-Key", &key), ("X-Incident-Key", &key)];
        let mut secrets: Vec<&str> = Vec::new();
        if let (Some(bearer), Some(token)) = (&bearer, &self.token) {
            headers.push(("Authorization", bearer));
            secrets.push(token.expose());
        }
        self.http.post_json(
            "sms gateway",
            &self.url,
            body.as_bytes(),
            &headers,
            &secrets,
        )
    }
}

impl<R> fmt::Debug for SmsGatewayNotifier<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsGatewayNotifier")
            .field("url", &self.url)
            .field("token", &self.token)
            .field("max_parts", &self.max_parts)
            .field("timeout", &self.http.timeout())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Audience;
    use crate::model::IncidentId;
    use crate::notifiers::Directory;

    fn note(subject: &str, body: &str) -> Notification {
        Notification {
            key: "k".into(),
            incident: Some(IncidentId::from_bytes([3; 16])),
            audience: Audience::Owner,
            channel: None,
            subject: subject.into(),
            body: body.into(),
            locale: None,
            sms: None,
        }
    }

    #[test]
    fn the_text_is_subject_and_body_shortened_to_the_parts_allowed() {
        let gateway = SmsGatewayNotifier::new("http://x", Directory::<PhoneNumber>::new());
        assert_eq!(
            gateway.text(&note("Till down", "Card payments fail.")),
            "Till down\nCard payments fail."
        );
        assert_eq!(gateway.text(&note("Till down", "")), "Till down");
        let long = note("Till down", &"Card payments fail. ".repeat(20));
        let one = gateway.text(&long);
        assert!(one.starts_with("Till down\nCard payments fail."), "{one}");
        assert!(one.ends_with("..."), "{one}");
        assert_eq!(Segments::of(&one).parts(), 1);
        let gateway = gateway.max_parts(3);
        assert_eq!(Segments::of(&gateway.text(&long)).parts(), 3);
        let hebrew = note("התנור כבה", &"הלקוחות מחכים בתור. ".repeat(10));
        let gateway = gateway.max_parts(0);
        let text = gateway.text(&hebrew);
        assert_eq!(Segments::of(&text).encoding(), Encoding::Ucs2);
        assert!(Segments::of(&text).units() <= 70);
    }

    #[test]
    fn a_notification_with_its_own_sms_text_sends_that() {
        let gateway = SmsGatewayNotifier::new("http://x", Directory::<PhoneNumber>::new());
        let mut n = note(
            "[critical] Till down needs someone",
            "A long body. ".repeat(20).as_str(),
        );
        n.sms = Some("CRITICAL: \u{2068}Till down\u{2069} unacknowledged for 5 min".into());
        // Otherwise GSM-7: the isolation marks go, as for any text.
        assert_eq!(
            gateway.text(&n),
            "CRITICAL: Till down unacknowledged for 5 min"
        );
    }

    #[test]
    fn debug_shows_no_url_or_token() {
        let gateway =
            SmsGatewayNotifier::new("https://sms.example/send?key=SeCrEt", |_: &Notification| {
                Vec::<PhoneNumber>::new()
            })
            .bearer_token("tok-123");
        let shown = format!("{gateway:?}");
        assert!(
            !shown.contains("SeCrEt") && !shown.contains("tok-123"),
            "{shown}"
        );
    }
}
