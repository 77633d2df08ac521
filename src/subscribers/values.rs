//! The values of the subscriber module: ids, contacts, tokens, bulletins, settings, errors.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::error::Invalid;
use crate::model::{IncidentId, Service};
use crate::notifiers::sms::PhoneNumber;
use crate::notify::Backoff;

/// A subscriber's id: a UUID v7 whose time part is when they first subscribed.
///
/// ```
/// use incidents::subscribers::SubscriberId;
///
/// let id: SubscriberId = "0190c8f4-6a3e-7c2d-9b1a-3f5e8d7c6b5a".parse()?;
/// assert_eq!(id.to_string(), "0190c8f4-6a3e-7c2d-9b1a-3f5e8d7c6b5a");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriberId(Uuid);

impl SubscriberId {
    /// A new id: the time part is `at` (milliseconds; before 1970 counts as 1970), the rest
    /// random. Never reads the clock.
    pub fn new(at: DateTime<Utc>) -> SubscriberId {
        let (secs, nanos) = match u64::try_from(at.timestamp()) {
            Ok(secs) => (secs, at.timestamp_subsec_nanos()),
            Err(_) => (0, 0),
        };
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos);
        SubscriberId(Uuid::new_v7(ts))
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> SubscriberId {
        SubscriberId(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubscriberId({})", self.0.hyphenated())
    }
}

impl FromStr for SubscriberId {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Uuid::parse_str(s)
            .map(SubscriberId)
            .map_err(|_| Invalid::new("subscriber id", "must be a UUID"))
    }
}

/// Refuses whitespace and control characters in `s`, for `field`.
fn no_space_or_control(field: &'static str, s: &str) -> Result<(), Invalid> {
    match s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        Some(c) => Err(
            Invalid::new(field, "must not contain spaces or control characters").with_code_point(c),
        ),
        None => Ok(()),
    }
}

/// A checked e-mail address: one `@`, a local part of 1 to 64 bytes, a domain of 1 to 253
/// bytes with a dot-separated name (no empty label), no spaces or control characters, 254
/// bytes at most in all. The domain is kept in lower case, the local part as typed.
///
/// ```
/// use incidents::subscribers::Email;
///
/// let email: Email = "Dana@Shop.Example".parse()?;
/// assert_eq!(email.as_str(), "Dana@shop.example");
/// assert!("dana@@shop.example".parse::<Email>().is_err());
/// assert!("dana shop@example.com".parse::<Email>().is_err());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<Email, Invalid> {
        const FIELD: &str = "e-mail address";
        let s = input.trim();
        no_space_or_control(FIELD, s)?;
        if s.len() > 254 {
            return Err(Invalid::new(FIELD, "must be at most 254 bytes long"));
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Invalid::new(FIELD, "must contain exactly one @"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(Invalid::new(
                FIELD,
                "the part before @ must be 1 to 64 bytes long",
            ));
        }
        if domain.is_empty() || domain.len() > 253 || domain.split('.').any(str::is_empty) {
            return Err(Invalid::new(
                FIELD,
                "the part after @ must be a domain name (labels separated by single dots)",
            ));
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A checked webhook URL: `https://` or `http://`, a host, no spaces or control
/// characters, at most 2,000 bytes.
///
/// ```
/// use incidents::subscribers::WebhookUrl;
///
/// assert!("https://hooks.example/status".parse::<WebhookUrl>().is_ok());
/// assert!("ftp://hooks.example".parse::<WebhookUrl>().is_err());
/// assert!("https://".parse::<WebhookUrl>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks an `http(s)://host…` URL (also a link template) for `field`.
pub(super) fn check_url(field: &'static str, s: &str) -> Result<(), Invalid> {
    no_space_or_control(field, s)?;
    if s.len() > 2_000 {
        return Err(Invalid::new(field, "must be at most 2000 bytes long"));
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| Invalid::new(field, "must start with https:// or http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(Invalid::new(field, "must name a host after the scheme"));
    }
    Ok(())
}

impl FromStr for WebhookUrl {
    type Err = Invalid;

    fn from_str(input: &str) -> Result<WebhookUrl, Invalid> {
        let s = input.trim();
        check_url("webhook URL", s)?;
        Ok(WebhookUrl(s.to_string()))
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a subscriber is reached. Each kind is checked when it is built; one contact is one
/// subscriber.
///
/// ```
/// use incidents::subscribers::Contact;
///
/// let email = Contact::email("dana@shop.example")?;
/// let sms = Contact::sms("+972 50-123-4567")?;
/// assert_eq!(sms.to_string(), "sms:+972501234567");
/// assert!(Contact::webhook("not a url").is_err());
/// # let _ = email;
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Contact {
    /// An e-mail address.
    Email(Email),
    /// A mobile number for SMS.
    Sms(PhoneNumber),
    /// A URL the host POSTs updates to.
    Webhook(WebhookUrl),
}

impl Contact {
    /// An e-mail contact.
    ///
    /// # Errors
    /// [`Invalid`] (field `e-mail address`) naming the rule broken.
    pub fn email(address: &str) -> Result<Contact, Invalid> {
        address.parse().map(Contact::Email)
    }

    /// An SMS contact: `+`, the country code and the number (spaces, dashes, dots and
    /// parentheses are dropped).
    ///
    /// # Errors
    /// [`Invalid`] (field `phone number`) naming the rule broken.
    pub fn sms(number: &str) -> Result<Contact, Invalid> {
        number
            .parse::<PhoneNumber>()
            .map(Contact::Sms)
            .map_err(|e| Invalid::new("phone number", e.to_string()))
    }

    /// A webhook contact.
    ///
    /// # Errors
    /// [`Invalid`] (field `webhook URL`) naming the rule broken.
    pub fn webhook(url: &str) -> Result<Contact, Invalid> {
        url.parse().map(Contact::Webhook)
    }

    /// The address, number or URL, without its kind.
    pub fn address(&self) -> &str {
        match self {
            Contact::Email(e) => e.as_str(),
            Contact::Sms(p) => p.as_str(),
            Contact::Webhook(w) => w.as_str(),
        }
    }
}

impl fmt::Display for Contact {
    /// `mailto:…`, `sms:…` or the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Email(e) => write!(f, "mailto:{e}"),
            Contact::Sms(p) => write!(f, "sms:{}", p.as_str()),
            Contact::Webhook(w) => f.write_str(w.as_str()),
        }
    }
}

/// An unguessable token for a confirmation or unsubscribe link: 144 random bits (taken from
/// the random bytes of two UUID v4s, drawn from the operating system's generator), written as
/// 24 characters of URL-safe base64 (`A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`): short, so a link
/// still fits an SMS. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Token(String);

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The characters of a token.
const TOKEN_LEN: usize = 24;

impl Token {
    pub(crate) fn random() -> Token {
        // A v4 UUID's bytes 0–5 and 9–15 are random (6 holds the version, 8 the variant).
        let mut bytes = Vec::with_capacity(26);
        for _ in 0..2 {
            let u = Uuid::new_v4();
            let b = u.as_bytes();
            bytes.extend_from_slice(&b[..6]);
            bytes.extend_from_slice(&b[9..]);
        }
        let mut text = String::with_capacity(TOKEN_LEN);
        for chunk in bytes[..18].chunks(3) {
            let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b));
            for shift in [18, 12, 6, 0] {
                text.push(char::from(BASE64URL[((n >> shift) & 63) as usize]));
            }
        }
        Token(text)
    }

    /// A token's text, checked to have the shape of one.
    pub(crate) fn parse(s: &str) -> Option<Token> {
        (s.len() == TOKEN_LEN && s.bytes().all(|b| BASE64URL.contains(&b)))
            .then(|| Token(s.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A BCP 47 language tag, checked by ICU4X and kept in its canonical spelling (`he-IL`).
pub(super) fn check_locale(tag: &str) -> Result<String, Invalid> {
    icu_locale_core::Locale::try_from_str(tag.trim())
        .map(|l| l.to_string())
        .map_err(|_| {
            Invalid::new(
                "locale",
                "must be a BCP 47 language tag such as he or en-GB",
            )
        })
}

/// Something to tell subscribers: a public customer update on an incident, or a scheduled
/// maintenance announcement.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::subscribers::Bulletin;
/// use incidents::Service;
///
/// let night = Bulletin::maintenance(
///     "tills-2026-12",
///     [Service::new("POS")?],
///     "Card terminal update",
///     Utc.with_ymd_and_hms(2026, 12, 6, 22, 0, 0).unwrap(),
///     Utc.with_ymd_and_hms(2026, 12, 6, 23, 0, 0).unwrap(),
/// )?;
/// assert_eq!(night.key(), "maintenance/tills-2026-12");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulletin {
    pub(super) kind: BulletinKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BulletinKind {
    Update {
        incident: IncidentId,
        n: usize,
        service: Service,
        text: String,
        posted_at: DateTime<Utc>,
    },
    Maintenance {
        key: String,
        services: BTreeSet<Service>,
        what: String,
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    },
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, Invalid> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Invalid::new(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(t.to_string())
}

impl Bulletin {
    /// Customer update number `n` (from 0) of `incident`, about `service`, posted at
    /// `posted_at`. Its key is `<incident>/customer_update_posted/<n>`, as the desk's outbox
    /// names it.
    ///
    /// # Errors
    /// [`Invalid`] if `text` is empty or longer than
    /// [`TEXT_MAX_CHARS`](crate::limits::TEXT_MAX_CHARS) (as the desk's customer updates).
    pub fn customer_update(
        incident: IncidentId,
        n: usize,
        service: Service,
        text: &str,
        posted_at: DateTime<Utc>,
    ) -> Result<Bulletin, Invalid> {
        Ok(Bulletin {
            kind: BulletinKind::Update {
                incident,
                n,
                service,
                text: check_text("customer update", text, crate::limits::TEXT_MAX_CHARS)?,
                posted_at,
            },
        })
    }

    /// Scheduled maintenance `key` (the host's name for it: letters, digits, `-`, `_`, `.`)
    /// on `services` from `starts` to `ends`, doing `what`. Its key is `maintenance/<key>`.
    ///
    /// # Errors
    /// [`Invalid`] for a bad key, no service, an empty `what`, or `ends` not after `starts`.
    pub fn maintenance(
        key: &str,
        services: impl IntoIterator<Item = Service>,
        what: &str,
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    ) -> Result<Bulletin, Invalid> {
        if key.is_empty()
            || key.len() > 100
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Invalid::new(
                "maintenance key",
                "must be 1 to 100 ASCII letters, digits, -, _ or .",
            ));
        }
        let services: BTreeSet<Service> = services.into_iter().collect();
        if services.is_empty() {
            return Err(Invalid::new("services", "must name at least one service"));
        }
        if ends <= starts {
            return Err(Invalid::new("maintenance", "must end after it starts"));
        }
        Ok(Bulletin {
            kind: BulletinKind::Maintenance {
                key: key.to_string(),
                services,
                what: check_text("maintenance description", what, 500)?,
                starts,
                ends,
            },
        })
    }

    /// The bulletin's key: what is recorded when it is published, so it is published once.
    pub fn key(&self) -> String {
        match &self.kind {
            BulletinKind::Update { incident, n, .. } => {
                format!("{incident}/customer_update_posted/{n}")
            }
            BulletinKind::Maintenance { key, .. } => format!("maintenance/{key}"),
        }
    }

    /// The services it is about.
    pub fn services(&self) -> Vec<&Service> {
        match &self.kind {
            BulletinKind::Update { service, .. } => vec![service],
            BulletinKind::Maintenance { services, .. } => services.iter().collect(),
        }
    }
}

/// How a [`Subscriptions`](super::Subscriptions) behaves: plain data, checked by
/// [`Subscriptions::open`](super::Subscriptions::open).
///
/// ```
/// use incidents::subscribers::Settings;
///
/// let mut settings = Settings::new(
///     "https://shop.example/updates/confirm?t={token}",
///     "https://shop.example/updates/stop?t={token}",
/// );
/// settings.zone = chrono_tz::Asia::Jerusalem;
/// assert_eq!(settings.confirm_within, chrono::Duration::hours(48));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// The shop's time zone, for dates and times in messages. Default UTC.
    pub zone: Tz,
    /// How long a confirmation link lives. Default 48 hours.
    pub confirm_within: Duration,
    /// The confirmation link, with `{token}` where the token goes.
    pub confirm_link: String,
    /// The unsubscribe link, with `{token}` where the token goes.
    pub unsubscribe_link: String,
    /// When failed deliveries are retried. Default [`Backoff::default`].
    pub backoff: Backoff,
    /// How long before maintenance starts its reminder goes out. Default 1 hour.
    pub remind_before: Duration,
}

impl Settings {
    /// Settings with these link templates and the defaults for the rest.
    pub fn new(confirm_link: impl Into<String>, unsubscribe_link: impl Into<String>) -> Settings {
        Settings {
            zone: Tz::UTC,
            confirm_within: Duration::hours(48),
            confirm_link: confirm_link.into(),
            unsubscribe_link: unsubscribe_link.into(),
            backoff: Backoff::default(),
            remind_before: Duration::hours(1),
        }
    }

    pub(super) fn check(&self) -> Result<(), Invalid> {
        for (field, link) in [
            ("confirm link", &self.confirm_link),
            ("unsubscribe link", &self.unsubscribe_link),
        ] {
            check_url(field, link)?;
            if !link.contains("{token}") {
                return Err(Invalid::new(field, "must contain the placeholder {token}"));
            }
        }
        if self.confirm_within <= Duration::zero() || self.remind_before < Duration::zero() {
            return Err(Invalid::new(
                "settings",
                "confirm_within must be positive and remind_before not negative",
            ));
        }
        Ok(())
    }

    pub(super) fn link(template: &str, token: &Token) -> String {
        template.replace("{token}", token.as_str())
    }
}

/// What went wrong in [`Subscriptions`](super::Subscriptions) or a
/// [`SubscriberStore`](super::SubscriberStore). Every error changes nothing unless its
/// doc says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscriberError {
    /// A value broke a rule (a malformed e-mail, phone number, URL, locale, setting).
    /// Nothing was changed; show the message to whoever typed it.
    #[error(transparent)]
    Invalid(#[from] Invalid),

    /// No subscriber has this token (mistyped, or erased). Nothing was changed.
    #[error("unknown or withdrawn link")]
    UnknownToken,

    /// The confirmation link expired at `expired`; the subscriber stays unconfirmed.
    /// Subscribing again sends a new link.
    #[error("the confirmation link expired at {expired}")]
    Expired {
        /// When it expired.
        expired: DateTime<Utc>,
    },

    /// No subscriber with this id or contact (never there, or erased).
    #[error("no such subscriber")]
    NotFound,

    /// An operating-system I/O call failed. For an append, nothing was recorded; a store
    /// refuses writes after a failed flush ([`SubscriberError::Poisoned`]).
    #[error("i/o error during {op} on {}: {source}", path.display())]
    Io {
        /// What the store was doing.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },

    /// A journal line failed its checksum or could not be read, before the last line.
    /// Nothing is guessed: the store does not open. Restore a backup or move the file aside.
    #[error("corrupt subscriber journal {} at line {line}: {reason}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What check failed.
        reason: String,
    },

    /// Another process (or handle) has the journal open for writing.
    #[error("subscriber journal {} is locked by another writer", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// An earlier write or flush failed; the store refuses writes until it is reopened.
    #[error("the subscriber store refuses writes after a failed write; reopen it")]
    Poisoned,
}
