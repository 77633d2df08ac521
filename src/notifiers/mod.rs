//! Ready-made [`Notifier`](crate::Notifier)s that talk to real servers, and what they share.
//!
//! | notifier | feature | sends |
//! |---|---|---|
//! | [`SmtpNotifier`] | `smtp` | e-mail through an SMTP server (plain, STARTTLS or implicit TLS, optional login) |
//! | [`WebhookNotifier`] | `http` | a documented JSON body, a Slack-compatible `{"text"}` or a Telegram bot message |
//! | [`SmsGatewayNotifier`] | `http` | a documented JSON body to an HTTP SMS gateway, the text shortened to a number of SMS parts |
//!
//! [`sms`] (always compiled) counts what a text costs as SMS: GSM-7 or UCS-2, and how many
//! parts.
//!
//! # Addressing: routes and directories
//!
//! A [`Notification`] names an *audience* (the owner, the people of an escalation step,
//! customers), not an address. Notifiers that need addresses take a [`Route`]: anything that
//! turns a notification into destinations. A closure `Fn(&Notification) -> Vec<T>` is a route
//! (it may ask the desk who owns the incident), and so is a [`Directory`], a fixed map from
//! audiences and recipients to destinations.
//!
//! **A notification that routes to nobody** fails with a *permanent*
//! [`DeliveryError`](crate::notify::DeliveryError) ("no e-mail address for the owner"): it is a gap in
//! the host's directory that retrying cannot fill, and as a failure it shows in the incident's
//! history instead of vanishing as a silent success. A host combining several notifiers (e-mail
//! for the owner, SMS for an on-call list) decides in its own `Notifier` which one a
//! notification goes to, for example by [`Notification::channel`].
//!
//! # Errors and secrets
//!
//! Every notifier says whether a failure is transient (a timeout, a refused connection, a 5xx
//! or 429 answer, an SMTP 4xx reply: the outbox retries) or permanent (a 4xx answer, an SMTP
//! 5xx reply such as a refused login or an unknown mailbox, a certificate that does not
//! verify: the outbox gives up at once). Their messages are stored in the incident's history,
//! so they never contain a password, token or secret URL: those are held as [`Secret`]s,
//! whose `Debug` shows `Secret(***)`, and are cut out of any text a server sends back.
//! No notifier's `Debug` output shows them either, and the notifiers' own log lines name
//! notification keys and recipients only. One caution: `ureq` (feature `http`) logs request
//! paths, where webhook URLs keep their token, when its log target is at `trace` level (at
//! `debug` it prints `/******`); keep `ureq` above `trace` in production.

// Without both features some links above lead nowhere; the full docs build with all features.
#![cfg_attr(
    not(all(feature = "smtp", feature = "http")),
    allow(rustdoc::broken_intra_doc_links)
)]

use std::collections::BTreeMap;
use std::fmt;

use crate::lifecycle::{Audience, Notification};
use crate::model::Role;
use crate::policy::Recipient;

#[cfg(feature = "http")]
mod http;
pub mod sms;
#[cfg(feature = "http")]
mod sms_gateway;
#[cfg(feature = "smtp")]
mod smtp;

#[cfg(feature = "http")]
pub use http::{TELEGRAM_API, WebhookNotifier};
#[cfg(feature = "http")]
pub use sms_gateway::SmsGatewayNotifier;
#[cfg(feature = "smtp")]
pub use smtp::{Mailbox, Security, SmtpBuilder, SmtpNotifier};

/// Turns a notification into the destinations a notifier sends it to: e-mail
/// [`Mailbox`]es, [`PhoneNumber`](sms::PhoneNumber)s, …
///
/// Implemented by every `Fn(&Notification) -> Vec<T>` and by [`Directory`]. An empty result
/// makes the notifier fail permanently (see the [module docs](self)).
pub trait Route<T> {
    /// The destinations for `notification`, in the order to use them.
    fn route(&self, notification: &Notification) -> Vec<T>;
}

impl<T, F> Route<T> for F
where
    F: Fn(&Notification) -> Vec<T>,
{
    fn route(&self, notification: &Notification) -> Vec<T> {
        self(notification)
    }
}

/// A fixed address book: who receives what, by audience and by [`Recipient`].
///
/// - [`Audience::Owner`] and [`Recipient::IncidentOwner`] go to the [`owner`](Self::owner)
///   destinations (the person on duty for incidents: the core does not tell a notifier who
///   owns each incident; a closure route that asks the desk can);
/// - [`Audience::Customers`] to the [`customer`](Self::customer) destinations;
/// - [`Recipient::Person`], [`Recipient::Role`] and [`Recipient::Channel`] to the
///   destinations added for that id, role or channel name;
/// - [`Recipient::OnCall`] never reaches a notifier from the desk (it names the person then);
///   one built by hand goes to the owner destinations.
///
/// Destinations come out in the order added, each once. A recipient the directory does not
/// know is skipped with a log warning; if nobody is left the notifier fails permanently.
///
/// ```
/// use incidents::notifiers::sms::PhoneNumber;
/// use incidents::notifiers::Directory;
/// use incidents::{Role, lifecycle::Audience, policy::Recipient};
///
/// let phones: Directory<PhoneNumber> = Directory::new()
///     .owner("+972 50 123 4567".parse()?)
///     .person("avi", "+972 52 765 4321".parse()?)
///     .role(Role::Responder, "+44 7700 900123".parse()?);
///
/// let step = Audience::Recipients(vec![Recipient::IncidentOwner, Recipient::Role(Role::Responder)]);
/// let to: Vec<String> = phones.lookup(&step).iter().map(ToString::to_string).collect();
/// assert_eq!(to, ["+972501234567", "+447700900123"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory<T> {
    owner: Vec<T>,
    customers: Vec<T>,
    people: BTreeMap<String, Vec<T>>,
    roles: BTreeMap<Role, Vec<T>>,
    channels: BTreeMap<String, Vec<T>>,
}

impl<T> Default for Directory<T> {
    fn default() -> Self {
        Directory {
            owner: Vec::new(),
            customers: Vec::new(),
            people: BTreeMap::new(),
            roles: BTreeMap::new(),
            channels: BTreeMap::new(),
        }
    }
}

impl<T: Clone + PartialEq> Directory<T> {
    /// An empty directory.
    pub fn new() -> Directory<T> {
        Directory::default()
    }

    /// Adds a destination for the incident owner.
    #[must_use]
    pub fn owner(mut self, to: T) -> Directory<T> {
        self.owner.push(to);
        self
    }

    /// Adds a destination for customers.
    #[must_use]
    pub fn customer(mut self, to: T) -> Directory<T> {
        self.customers.push(to);
        self
    }

    /// Adds a destination for the person with actor id `id`.
    #[must_use]
    pub fn person(mut self, id: impl Into<String>, to: T) -> Directory<T> {
        self.people.entry(id.into()).or_default().push(to);
        self
    }

    /// Adds a destination for everyone with `role`.
    #[must_use]
    pub fn role(mut self, role: Role, to: T) -> Directory<T> {
        self.roles.entry(role).or_default().push(to);
        self
    }

    /// Adds a destination for the channel called `name`.
    #[must_use]
    pub fn channel(mut self, name: impl Into<String>, to: T) -> Directory<T> {
        self.channels.entry(name.into()).or_default().push(to);
        self
    }

    /// The destinations for `audience`, each once, in the order added.
    pub fn lookup(&self, audience: &Audience) -> Vec<T> {
        let mut out: Vec<T> = Vec::new();
        let mut add = |list: &[T]| {
            for to in list {
                if !out.contains(to) {
                    out.push(to.clone());
                }
            }
        };
        match audience {
            Audience::Owner => add(&self.owner),
            Audience::Customers => add(&self.customers),
            Audience::Recipients(recipients) => {
                for recipient in recipients {
                    let found = match recipient {
                        // The desk resolves `OnCall` before a notification is requested.
                        Recipient::IncidentOwner | Recipient::OnCall(_) => Some(&self.owner),
                        Recipient::Person(id) => self.people.get(id),
                        Recipient::Role(role) => self.roles.get(role),
                        Recipient::Channel(name) => self.channels.get(name),
                    };
                    match found {
                        Some(list) if !list.is_empty() => add(list),
                        _ => log::warn!(
                            "incidents: the directory has no destination for {recipient}"
                        ),
                    }
                }
            }
        }
        out
    }
}

impl<T: Clone + PartialEq> Route<T> for Directory<T> {
    fn route(&self, notification: &Notification) -> Vec<T> {
        self.lookup(&notification.audience)
    }
}

/// A password, token or secret URL. Its `Debug` shows `Secret(***)` and it has no
/// `Display`, so it does not end up in a log line or an error message by accident.
///
/// ```
/// use incidents::notifiers::Secret;
///
/// let token = Secret::new("123456:ABC-DEF");
/// assert_eq!(format!("{token:?}"), "Secret(***)");
/// assert_eq!(token.expose(), "123456:ABC-DEF");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, to hand to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

/// A notifier's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An e-mail address or mailbox (`Name <user@example.com>`) that does not parse. Fix the
    /// text.
    #[error("invalid e-mail address {input:?}: {reason}")]
    Mailbox {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A phone number that is not in international form: `+`, a country code, the number;
    /// 15 digits at most (spaces, dashes, dots and parentheses are ignored). Fix the text.
    #[error("invalid phone number {input:?}: {reason}")]
    PhoneNumber {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// TLS settings the TLS library refused, such as a root certificate that is not PEM.
    #[error("invalid TLS settings: {reason}")]
    Tls {
        /// Why they were refused.
        reason: String,
    },
}

/// Who an audience is, in words, for error messages ("the owner", "#ops, dana").
#[cfg_attr(not(any(feature = "smtp", feature = "http")), allow(dead_code))]
pub(crate) fn audience_text(audience: &Audience) -> String {
    match audience {
        Audience::Owner => "the owner".into(),
        Audience::Customers => "customers".into(),
        Audience::Recipients(r) if r.is_empty() => "an empty recipient list".into(),
        Audience::Recipients(r) => r
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `text` with every occurrence of each non-empty secret replaced by `***`.
#[cfg_attr(not(any(feature = "smtp", feature = "http")), allow(dead_code))]
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret containing another is cut whole.
    let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// A notification key as printable ASCII for a header value: bytes outside `!`..=`~`, and
/// `%` itself, become `%XX`. Keys the core makes are printable ASCII already and pass as they
/// are.
#[cfg_attr(not(any(feature = "smtp", feature = "http")), allow(dead_code))]
pub(crate) fn header_safe(key: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IncidentId;

    fn note(audience: Audience) -> Notification {
        Notification {
            key: "k".into(),
            incident: Some(IncidentId::from_bytes([7; 16])),
            audience,
            channel: None,
            subject: "s".into(),
            body: "b".into(),
            locale: None,
            sms: None,
        }
    }

    #[test]
    fn a_directory_resolves_audiences_and_recipients_once_each_in_order() {
        let d = Directory::new()
            .owner("owner@x")
            .customer("c1@x")
            .customer("c2@x")
            .person("dana", "dana@x")
            .person("dana", "owner@x")
            .role(Role::Responder, "team@x")
            .channel("ops", "ops@x");
        assert_eq!(d.route(&note(Audience::Owner)), ["owner@x"]);
        assert_eq!(d.route(&note(Audience::Customers)), ["c1@x", "c2@x"]);
        let step = Audience::Recipients(vec![
            Recipient::Channel("ops".into()),
            Recipient::Person("dana".into()),
            Recipient::IncidentOwner,
            Recipient::Role(Role::Responder),
            Recipient::Person("nobody-known".into()),
            Recipient::Role(Role::Viewer),
        ]);
        assert_eq!(
            d.route(&note(step)),
            ["ops@x", "dana@x", "owner@x", "team@x"]
        );
        let empty: Directory<&str> = Directory::new();
        assert!(empty.route(&note(Audience::Owner)).is_empty());
    }

    #[test]
    fn closures_are_routes() {
        let route = |n: &Notification| vec![n.key.clone()];
        assert_eq!(route.route(&note(Audience::Customers)), ["k"]);
    }

    #[test]
    fn secrets_never_show_in_debug_and_are_scrubbed_from_text() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(***))");
        assert_eq!(
            scrub("login hunter2 failed for hunter2x", &["hunter2", ""]),
            "login *** failed for ***x"
        );
        assert_eq!(scrub("a/b/c", &["b", "a/b/c"]), "***");
    }

    #[test]
    fn header_safe_keys_are_printable_ascii_and_leave_core_keys_alone() {
        let core = "0195f3a8-0000-7000-8000-000000000001/escalation/0/1";
        assert_eq!(header_safe(core), core);
        assert_eq!(header_safe("a b%é"), "a%20b%25%C3%A9");
    }

    #[test]
    fn audiences_read_as_words() {
        assert_eq!(audience_text(&Audience::Owner), "the owner");
        assert_eq!(
            audience_text(&Audience::Recipients(vec![
                Recipient::Channel("ops".into()),
                Recipient::Person("dana".into())
            ])),
            "#ops, dana"
        );
    }
}
