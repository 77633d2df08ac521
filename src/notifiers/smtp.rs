//! E-mail through an SMTP server, on `lettre` (feature `smtp`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lettre::address::{Address, Envelope};
#[cfg(feature = "l10n")]
use lettre::message::MultiPart;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{self, SmtpTransport};
use lettre::{Message, Transport};

use super::{ConfigError, Route, Secret, audience_text, header_safe, scrub};
use crate::lifecycle::{Audience, Notification};
use crate::notify::{DeliveryError, Notifier};

/// An e-mail mailbox: an address with an optional display name, `Dana <dana@example.com>` or
/// `dana@example.com`.
///
/// ```
/// use incidents::notifiers::Mailbox;
///
/// let dana: Mailbox = "Dana Levi <dana@bakery.example>".parse()?;
/// assert_eq!(dana.address(), "dana@bakery.example");
/// assert_eq!(dana.name(), Some("Dana Levi"));
/// let desk = Mailbox::new(Some("Incident desk"), "incidents@bakery.example")?;
/// assert_eq!(desk.to_string(), "Incident desk <incidents@bakery.example>");
/// # Ok::<(), incidents::notifiers::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox(lettre::message::Mailbox);

impl Mailbox {
    /// A mailbox for `address`, shown as `name` if given.
    ///
    /// # Errors
    /// [`ConfigError::Mailbox`] if `address` is not a valid e-mail address.
    pub fn new(name: Option<&str>, address: &str) -> Result<Mailbox, ConfigError> {
        let email: Address = address.parse().map_err(|e| ConfigError::Mailbox {
            input: address.to_string(),
            reason: format!("{e}"),
        })?;
        Ok(Mailbox(lettre::message::Mailbox::new(
            name.map(str::to_string),
            email,
        )))
    }

    /// The address, `user@domain`.
    pub fn address(&self) -> &str {
        self.0.email.as_ref()
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
}

impl FromStr for Mailbox {
    type Err = ConfigError;

    fn from_str(input: &str) -> Result<Mailbox, ConfigError> {
        input
            .parse()
            .map(Mailbox)
            .map_err(|e| ConfigError::Mailbox {
                input: input.to_string(),
                reason: format!("{e}"),
            })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Security {
    /// No TLS, port 25 by default. Only for a relay on the same machine or network: a login
    /// and every message cross the wire readable.
    Plain,
    /// Plain connection upgraded with STARTTLS before anything else is sent; a server that
    /// does not offer STARTTLS is refused (permanently). Port 587 by default (submission).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS"), port 465 by default.
    Tls,
}

impl Security {
    /// The usual port for this kind of connection: 25, 587 or 465.
    pub const fn default_port(self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        }
    }
}

/// Sends each notification as one UTF-8 e-mail through an SMTP server: plain text, or with
/// [`SmtpBuilder::html_alternative`] (feature `l10n`) plain text and HTML.
///
/// The message carries:
/// - `Subject` and body in UTF-8 (a non-ASCII subject as RFC 2047 encoded words, the body
///   as quoted-printable or base64 as lettre sees fit), so Hebrew or any other script
///   arrives intact;
/// - with an HTML alternative, a `multipart/alternative` body: the plain text first, then
///   [`email_html`](crate::l10n::email_html) of the subject and body, whose `lang` and `dir`
///   come from the locale given to the builder (a mail client shows the HTML, and the text
///   where it shows no HTML);
/// - `Message-ID: <KEY@DOMAIN>`, made from the notification [key](Notification::key) (bytes
///   other than RFC 5322 `atext` percent-encoded, dots included), so a redelivery has the same
///   id and a mail client or the host can recognise it; DOMAIN is the From address's domain
///   unless [`SmtpBuilder::message_id_domain`] says otherwise;
/// - `X-Incident-Key: KEY`, and `References: <INCIDENT-ID@DOMAIN>` so that mail clients
///   thread every message about one incident together (no `References` for a message about
///   no incident, such as a shift reminder).
///
/// The [`Route`] gives the recipients. [`Audience::Customers`] are sent the message in one
/// SMTP transaction with the `To` header showing only the From mailbox, so customers do not
/// see each other's addresses; staff audiences are listed in `To`. One transaction means all
/// or nothing: a recipient the server refuses fails the whole delivery.
///
/// A new connection is made for every delivery (no pool, no background thread).
///
/// # Errors
///
/// `deliver` fails **permanently** for an SMTP 5xx reply (unknown mailbox, login refused,
/// message refused), a server that does not offer STARTTLS when [`Security::StartTls`] is set,
/// a TLS certificate that does not verify, and a notification that routes to nobody; and
/// **transiently** for 4xx replies, connection failures and timeouts. Messages never contain
/// the password.
///
/// ```no_run
/// use std::time::Duration;
/// use incidents::notifiers::{Directory, Mailbox, Security, SmtpNotifier};
/// use incidents::{Desk, MemoryStore, SystemClock};
///
/// let desk = Desk::new(MemoryStore::new(), SystemClock)?;
/// let addresses: Directory<Mailbox> = Directory::new()
///     .owner("Dana <dana@bakery.example>".parse()?)
///     .customer("regulars@lists.bakery.example".parse()?);
/// let mail = SmtpNotifier::builder("smtp.mail.example", "Bakery incidents <incidents@bakery.example>".parse()?)
///     .security(Security::StartTls)
///     .credentials("incidents@bakery.example", std::env::var("SMTP_PASSWORD")?)
///     .timeout(Duration::from_secs(20))
///     .build(addresses)?;
/// desk.dispatch(&mail)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SmtpNotifier<R> {
    transport: SmtpTransport,
    from: Mailbox,
    route: R,
    domain: String,
    server: String,
    security: Security,
    login: Option<(String, Secret)>,
    timeout: Duration,
    /// The locale of the HTML alternative, if one is sent.
    #[cfg(feature = "l10n")]
    html: Option<String>,
}

/// Settings for an [`SmtpNotifier`]; from [`SmtpNotifier::builder`].
#[derive(Clone)]
pub struct SmtpBuilder {
    host: String,
    port: Option<u16>,
    security: Security,
    login: Option<(String, Secret)>,
    timeout: Duration,
    from: Mailbox,
    root_certificates: Vec<Vec<u8>>,
    message_id_domain: Option<String>,
    #[cfg(feature = "l10n")]
    html: Option<String>,
}

impl SmtpNotifier<()> {
    /// Settings for sending through the SMTP server at `host`, from `from`. Defaults:
    /// [`Security::StartTls`] on port 587, no login, a 15-second timeout for each network
    /// operation, the web PKI's root certificates. The route comes with
    /// [`build`](SmtpBuilder::build).
    pub fn builder(host: impl Into<String>, from: Mailbox) -> SmtpBuilder {
        SmtpBuilder {
            host: host.into(),
            port: None,
            security: Security::default(),
            login: None,
            timeout: Duration::from_secs(15),
            from,
            root_certificates: Vec::new(),
            message_id_domain: None,
            #[cfg(feature = "l10n")]
            html: None,
        }
    }
}

impl<R> SmtpNotifier<R> {
    /// The `Message-ID` a notification with this key is sent with, angle brackets included.
    pub fn message_id(&self, key: &str) -> String {
        message_id(key, &self.domain)
    }
}

impl SmtpBuilder {
    /// The server's port, if not the [usual one](Security::default_port).
    #[must_use]
    pub fn port(mut self, port: u16) -> SmtpBuilder {
        self.port = Some(port);
        self
    }

    /// How the connection is protected.
    #[must_use]
    pub fn security(mut self, security: Security) -> SmtpBuilder {
        self.security = security;
        self
    }

    /// Log in with this user name and password (AUTH PLAIN or LOGIN).
    #[must_use]
    pub fn credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<Secret>,
    ) -> SmtpBuilder {
        self.login = Some((user.into(), password.into()));
        self
    }

    /// How long any one network operation (connect, a command's reply) may take.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> SmtpBuilder {
        self.timeout = timeout;
        self
    }

    /// Also trust this root certificate (PEM), for a server whose certificate comes from a
    /// private authority or is self-signed. The web PKI's roots stay trusted.
    #[must_use]
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> SmtpBuilder {
        self.root_certificates.push(pem.into());
        self
    }

    /// The domain after the `@` in Message-IDs; the From address's domain by default.
    #[must_use]
    pub fn message_id_domain(mut self, domain: impl Into<String>) -> SmtpBuilder {
        self.message_id_domain = Some(domain.into());
        self
    }

    /// Also send an HTML part (feature `l10n`): each e-mail becomes `multipart/alternative`,
    /// the plain text kept as the first part and
    /// [`email_html`](crate::l10n::email_html)`(locale, subject, body, None)` as the
    /// second, so the message reads in its language's direction (`dir="rtl"` for `he`) with
    /// its isolated values as `<bdi>`. The language is the notification's own
    /// [`locale`](Notification::locale) when it has one (a desk with catalogs renders each
    /// notification for its readers and records the locale), else `locale`: the language
    /// the desk's notifications are written in (a BCP 47 tag). Without this setting the
    /// e-mail is plain text only.
    ///
    /// ```
    /// use incidents::notifiers::SmtpNotifier;
    ///
    /// let _builder = SmtpNotifier::builder("smtp.mail.example", "desk@bakery.example".parse()?)
    ///     .html_alternative("he");
    /// # Ok::<(), incidents::notifiers::ConfigError>(())
    /// ```
    #[cfg(feature = "l10n")]
    #[must_use]
    pub fn html_alternative(mut self, locale: impl Into<String>) -> SmtpBuilder {
        self.html = Some(locale.into());
        self
    }

    /// The notifier, sending to the mailboxes `route` gives.
    ///
    /// # Errors
    /// [`ConfigError::Tls`] if a root certificate is not PEM or TLS cannot be set up for
    /// the host name; [`ConfigError::Mailbox`] if the Message-ID domain is not a plain
    /// ASCII domain.
    pub fn build<R: Route<Mailbox>>(self, route: R) -> Result<SmtpNotifier<R>, ConfigError> {
        let tls = || -> Result<TlsParameters, ConfigError> {
            let mut params = TlsParameters::builder(self.host.clone());
            for pem in &self.root_certificates {
                let cert = Certificate::from_pem(pem).map_err(|e| ConfigError::Tls {
                    reason: format!("root certificate: {e}"),
                })?;
                params = params.add_root_certificate(cert);
            }
            params.build_rustls().map_err(|e| ConfigError::Tls {
                reason: e.to_string(),
            })
        };
        let tls = match self.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls()?),
            Security::Tls => Tls::Wrapper(tls()?),
        };
        let port = self.port.unwrap_or(self.security.default_port());
        let mut transport = SmtpTransport::builder_dangerous(self.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some((user, password)) = &self.login {
            transport =
                transport.credentials(Credentials::new(user.clone(), password.expose().into()));
        }
        let domain = match self.message_id_domain {
            Some(d) if is_dot_atom(&d) => d,
            Some(d) => {
                return Err(ConfigError::Mailbox {
                    input: d,
                    reason: "a Message-ID domain is ASCII letters, digits and dots".into(),
                });
            }
            None => {
                let d = self.from.0.email.domain();
                if is_dot_atom(d) {
                    d.to_string()
                } else {
                    "incidents.invalid".to_string()
                }
            }
        };
        Ok(SmtpNotifier {
            transport: transport.build(),
            from: self.from,
            route,
            domain,
            server: format!("{}:{port}", self.host),
            security: self.security,
            login: self.login,
            timeout: self.timeout,
            #[cfg(feature = "l10n")]
            html: self.html,
        })
    }
}

impl<R: Route<Mailbox>> Notifier for SmtpNotifier<R> {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let mut to: Vec<Mailbox> = Vec::new();
        for m in self.route.route(n) {
            if !to.iter().any(|t| t.address() == m.address()) {
                to.push(m);
            }
        }
        if to.is_empty() {
            return Err(DeliveryError::permanent(format!(
                "no e-mail address for {}",
                audience_text(&n.audience)
            )));
        }
        let message = self.compose(n, &to)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| self.delivery_error(&e))
    }
}

impl<R> SmtpNotifier<R> {
    /// The e-mail for `n` to `to` (not empty).
    fn compose(&self, n: &Notification, to: &[Mailbox]) -> Result<Message, DeliveryError> {
        let envelope = Envelope::new(
            Some(self.from.0.email.clone()),
            to.iter().map(|m| m.0.email.clone()).collect(),
        )
        .map_err(|e| DeliveryError::permanent(format!("e-mail envelope refused: {e}")))?;
        let mut message = Message::builder()
            .from(self.from.0.clone())
            .subject(n.subject.clone())
            .message_id(Some(self.message_id(&n.key)));
        if let Some(incident) = n.incident {
            message = message.references(format!("<{incident}@{}>", self.domain));
        }
        let mut message = message
            .header(IncidentKey(n.key.clone()))
            .header(MIME_VERSION_1_0)
            .envelope(envelope);
        if n.audience == Audience::Customers {
            message = message.to(self.from.0.clone());
        } else {
            for m in to {
                message = message.to(m.0.clone());
            }
        }
        #[cfg(feature = "l10n")]
        if let Some(default) = &self.html {
            let locale = n.locale.as_deref().unwrap_or(default);
            let html = crate::l10n::email_html(locale, &n.subject, &n.body, None);
            return message
                .multipart(MultiPart::alternative_plain_html(n.body.clone(), html))
                .map_err(|e| DeliveryError::permanent(format!("e-mail not built: {e}")));
        }
        message
            .header(ContentType::TEXT_PLAIN)
            .body(n.body.clone())
            .map_err(|e| DeliveryError::permanent(format!("e-mail not built: {e}")))
    }

    /// A lettre error as a delivery error: permanent or transient as explained on
    /// [`SmtpNotifier`], the password cut out.
    fn delivery_error(&self, e: &smtp::Error) -> DeliveryError {
        use std::io::ErrorKind;
        let kind = io_kind(e);
        // A socket timeout reads as "resource temporarily unavailable" on Unix.
        let text = if e.is_timeout()
            || matches!(kind, Some(ErrorKind::WouldBlock | ErrorKind::TimedOut))
        {
            format!("smtp {}: no answer within {:?}", self.server, self.timeout)
        } else {
            format!("smtp {}: {e}", self.server)
        };
        let text = match &self.login {
            Some((user, password)) => {
                let password = password.expose();
                let plain = base64(format!("\0{user}\0{password}").as_bytes());
                scrub(&text, &[password, &base64(password.as_bytes()), &plain])
            }
            None => text,
        };
        if e.is_permanent() || e.is_client() || (e.is_tls() && !e.is_timeout()) {
            return DeliveryError::permanent(text);
        }
        // rustls reports a certificate that does not verify (and a peer that does not speak
        // TLS) as invalid data on the first read or write: no retry will change that.
        if self.security != Security::Plain && kind == Some(ErrorKind::InvalidData) {
            return DeliveryError::permanent(text);
        }
        DeliveryError::new(text)
    }
}

impl fmt::Debug for SmtpBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("SmtpBuilder");
        f.field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .field("user", &self.login.as_ref().map(|(user, _)| user))
            .field("password", &self.login.as_ref().map(|(_, p)| p))
            .field("timeout", &self.timeout)
            .field("root_certificates", &self.root_certificates.len())
            .field("message_id_domain", &self.message_id_domain);
        #[cfg(feature = "l10n")]
        f.field("html_alternative", &self.html);
        f.finish()
    }
}

impl<R> fmt::Debug for SmtpNotifier<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("SmtpNotifier");
        f.field("server", &self.server)
            .field("security", &self.security)
            .field("from", &self.from)
            .field("user", &self.login.as_ref().map(|(user, _)| user))
            .field("password", &self.login.as_ref().map(|(_, p)| p))
            .field("message_id_domain", &self.domain);
        #[cfg(feature = "l10n")]
        f.field("html_alternative", &self.html);
        f.finish_non_exhaustive()
    }
}

/// The first I/O error kind in `e`'s chain of sources.
fn io_kind(e: &smtp::Error) -> Option<std::io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// `<KEY@DOMAIN>` with KEY percent-encoded into RFC 5322 `atext` (no dots, so it is always a
/// valid `dot-atom-text`; `%` itself is encoded).
fn message_id(key: &str, domain: &str) -> String {
    use std::fmt::Write;
    let mut id = String::with_capacity(key.len() + domain.len() + 3);
    id.push('<');
    if key.is_empty() {
        id.push('-');
    }
    for b in key.bytes() {
        if is_atext(b) && b != b'%' {
            id.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(id, "%{b:02X}");
        }
    }
    let _ = write!(id, "@{domain}>");
    id
}

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// An RFC 5322 `dot-atom-text`: atoms of `atext` joined by single dots.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// Standard base64 with padding (to recognise credentials echoed in an AUTH reply).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `X-Incident-Key` header.
#[derive(Debug, Clone)]
struct IncidentKey(String);

impl Header for IncidentKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Incident-Key")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(IncidentKey(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), header_safe(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IncidentId;
    use crate::notifiers::Directory;

    fn note(key: &str, subject: &str, body: &str, audience: Audience) -> Notification {
        Notification {
            key: key.into(),
            incident: Some(IncidentId::from_bytes([9; 16])),
            audience,
            channel: None,
            subject: subject.into(),
            body: body.into(),
            locale: None,
            sms: None,
        }
    }

    #[test]
    fn message_ids_are_valid_and_deterministic() {
        let core = "0195f3a8-0000-7000-8000-000000000001/escalation/0/1";
        assert_eq!(
            message_id(core, "bakery.example"),
            format!("<{core}@bakery.example>")
        );
        assert_eq!(
            message_id("a.b c%é", "x.example"),
            "<a%2Eb%20c%25%C3%A9@x.example>"
        );
        assert_eq!(message_id("", "x"), "<-@x>");
        for key in [core, "a.b", "..", "<>@", "שלום", "\"q\""] {
            let id = message_id(key, "d.example");
            let inner = id
                .strip_prefix('<')
                .and_then(|s| s.strip_suffix('>'))
                .unwrap();
            let (left, right) = inner.rsplit_once('@').unwrap();
            assert!(is_dot_atom(left) && is_dot_atom(right), "{id}");
            assert_eq!(id, message_id(key, "d.example"));
        }
        assert_ne!(message_id("a/b", "d"), message_id("a%2Fb", "d"));
    }

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn the_message_is_utf8_with_the_incident_headers() {
        let from: Mailbox = "Desk <desk@bakery.example>".parse().unwrap();
        let notifier = SmtpNotifier::builder("127.0.0.1", from.clone())
            .security(Security::Plain)
            .build(Directory::new().owner("dana@bakery.example".parse::<Mailbox>().unwrap()))
            .unwrap();
        assert_eq!(notifier.domain, "bakery.example");
        let n = note(
            "k/1",
            "התנור לא עובד",
            "שלום, התנור במאפייה כבה.",
            Audience::Owner,
        );
        let to = ["Dana <dana@bakery.example>".parse::<Mailbox>().unwrap()];
        let message = notifier.compose(&n, &to).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.is_ascii(), "{raw}");
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
        assert!(raw.contains("Message-ID: <k/1@bakery.example>"), "{raw}");
        assert!(raw.contains("X-Incident-Key: k/1"), "{raw}");
        assert!(
            raw.contains("References: <09090909-0909-0909-0909-090909090909@bakery.example>"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: text/plain; charset=utf-8"),
            "{raw}"
        );
    }

    #[test]
    fn a_message_about_no_incident_has_no_references() {
        let from: Mailbox = "desk@bakery.example".parse().unwrap();
        let notifier = SmtpNotifier::builder("127.0.0.1", from)
            .security(Security::Plain)
            .build(Directory::new())
            .unwrap();
        let mut n = note("oncall/shop/dana/r", "Shift", "Soon", Audience::Owner);
        n.incident = None;
        let to = ["dana@bakery.example".parse::<Mailbox>().unwrap()];
        let raw = String::from_utf8(notifier.compose(&n, &to).unwrap().formatted()).unwrap();
        assert!(!raw.contains("References:"), "{raw}");
        assert!(raw.contains("X-Incident-Key: oncall/shop/dana/r"), "{raw}");
    }

    #[cfg(feature = "l10n")]
    #[test]
    fn an_html_alternative_follows_the_plain_text() {
        let from: Mailbox = "desk@bakery.example".parse().unwrap();
        let to = ["dana@bakery.example".parse::<Mailbox>().unwrap()];
        let n = note(
            "k/2",
            "עדכון",
            "שלום \u{2068}POS 2\u{2069}",
            Audience::Owner,
        );
        let plain = SmtpNotifier::builder("127.0.0.1", from.clone())
            .build(Directory::<Mailbox>::new())
            .unwrap();
        let raw = String::from_utf8(plain.compose(&n, &to).unwrap().formatted()).unwrap();
        assert!(!raw.contains("multipart"), "{raw}");
        let both = SmtpNotifier::builder("127.0.0.1", from)
            .html_alternative("he")
            .build(Directory::<Mailbox>::new())
            .unwrap();
        assert!(format!("{both:?}").contains("html_alternative: Some(\"he\")"));
        let raw = String::from_utf8(both.compose(&n, &to).unwrap().formatted()).unwrap();
        assert!(raw.is_ascii(), "{raw}");
        assert_eq!(
            raw.matches("Content-Type: multipart/alternative").count(),
            1,
            "{raw}"
        );
        let plain_at = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html_at = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(plain_at < html_at, "{raw}");
        assert_eq!(raw.matches("MIME-Version: 1.0").count(), 1, "{raw}");
    }

    #[test]
    fn nobody_to_send_to_is_a_permanent_error_before_any_connection() {
        let notifier = SmtpNotifier::builder("127.0.0.1", "desk@x.example".parse().unwrap())
            .security(Security::Plain)
            .port(9)
            .build(Directory::<Mailbox>::new())
            .unwrap();
        let err = notifier
            .deliver(&note("k", "s", "b", Audience::Customers))
            .unwrap_err();
        assert!(err.is_permanent());
        assert_eq!(err.message(), "no e-mail address for customers");
    }

    #[test]
    fn debug_shows_no_password() {
        let notifier = SmtpNotifier::builder("smtp.example", "desk@x.example".parse().unwrap())
            .credentials("desk@x.example", "correct horse battery staple")
            .build(|_: &Notification| Vec::<Mailbox>::new())
            .unwrap();
        let shown = format!("{notifier:?}");
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
        let builder = SmtpNotifier::builder("smtp.example", "desk@x.example".parse().unwrap())
            .credentials("desk", "correct horse battery staple");
        assert!(!format!("{builder:?}").contains("horse"));
    }

    #[test]
    fn bad_settings_are_refused_at_build() {
        let from: Mailbox = "desk@x.example".parse().unwrap();
        let err = SmtpNotifier::builder("smtp.example", from.clone())
            .root_certificate_pem(
                "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            )
            .build(Directory::<Mailbox>::new())
            .unwrap_err();
        assert!(matches!(err, ConfigError::Tls { .. }), "{err}");
        let err = SmtpNotifier::builder("smtp.example", from)
            .message_id_domain("not a domain")
            .build(Directory::<Mailbox>::new())
            .unwrap_err();
        assert!(matches!(err, ConfigError::Mailbox { .. }), "{err}");
        assert!("not an address".parse::<Mailbox>().is_err());
    }
}
