//! What the operations of [`Subscriptions`](super::Subscriptions) return, what a notifier
//! gets, and what a host's screens read.

use chrono::{DateTime, Utc};

use super::state::{MessageKind, Sub, SubscriberState};
use super::values::{Contact, SubscriberId};
use crate::model::Service;
use crate::notify::DeliveryError;

/// Delivers a message to a subscriber: e-mail, SMS, a webhook POST.
///
/// Delivery is at least once (see the [module docs](super)): drop repeated
/// [`Outgoing::key`]s. Closures `Fn(&Outgoing) -> Result<(), DeliveryError>` are notifiers.
pub trait SubscriberNotifier {
    /// Sends one message.
    ///
    /// # Errors
    /// A transient [`DeliveryError`] is retried on the backoff; a permanent one gives up.
    fn deliver(&self, message: &Outgoing) -> std::result::Result<(), DeliveryError>;
}

impl<F> SubscriberNotifier for F
where
    F: Fn(&Outgoing) -> std::result::Result<(), DeliveryError>,
{
    fn deliver(&self, message: &Outgoing) -> std::result::Result<(), DeliveryError> {
        self(message)
    }
}

/// One message to deliver, as [`SubscriberNotifier::deliver`] gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outgoing {
    /// The message's key, the same on every attempt: `<bulletin key>/<subscriber id>`, or
    /// `confirm/<subscriber id>/<n>` for a confirmation request. Receivers drop repeats.
    pub key: String,
    /// Who it is for.
    pub subscriber: SubscriberId,
    /// Where it goes.
    pub contact: Contact,
    /// The locale it was rendered in (the catalog's tag).
    pub locale: String,
    /// The subject.
    pub subject: String,
    /// The whole body: the message, a blank line, the unsubscribe footer.
    pub body: String,
    /// The message alone, without the footer.
    pub text: String,
    /// The unsubscribe footer alone.
    pub footer: String,
    /// The SMS text, when the contact is a phone number. It has no footer (it must fit one
    /// SMS); the gateway can append [`Outgoing::unsubscribe_link`] or its own STOP line.
    pub sms: Option<String>,
    /// The subscriber's unsubscribe link.
    pub unsubscribe_link: String,
}

impl Outgoing {
    /// The message as an HTML e-mail part, for a `multipart/alternative` beside
    /// [`body`](Outgoing::body): [`email_html`](crate::l10n::email_html) of the subject, the
    /// text and the unsubscribe footer, in the message's locale — `lang` and `dir` set on
    /// every block (`rtl` for Hebrew), each isolated value a `<bdi>`, the links clickable.
    pub fn html(&self) -> String {
        crate::l10n::email_html(&self.locale, &self.subject, &self.text, Some(&self.footer))
    }
}

/// A subscriber, for a host's screens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subscriber {
    /// The id.
    pub id: SubscriberId,
    /// How they are reached.
    pub contact: Contact,
    /// The services they receive bulletins for (confirmed).
    pub services: Vec<Service>,
    /// Services asked for and not yet confirmed.
    pub pending_services: Vec<Service>,
    /// Their BCP 47 locale, canonical.
    pub locale: String,
    /// Pending, confirmed or unsubscribed.
    pub state: SubscriberState,
    /// When they first subscribed.
    pub created_at: DateTime<Utc>,
    /// When they first confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When the latest confirmation link expires.
    pub confirm_expires: DateTime<Utc>,
}

impl Subscriber {
    pub(super) fn of(s: &Sub) -> Subscriber {
        Subscriber {
            id: s.id,
            contact: s.contact.clone(),
            services: s.services.iter().cloned().collect(),
            pending_services: s.adding.iter().cloned().collect(),
            locale: s.locale.clone(),
            state: s.state,
            created_at: s.created_at,
            confirmed_at: s.confirmed_at,
            confirm_expires: s.confirm_expires,
        }
    }
}

/// Where a queued message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageState {
    /// To be delivered at `due` (a retry if `last_error` is set).
    Pending {
        /// When it is due.
        due: DateTime<Utc>,
        /// The error of the last failed attempt.
        last_error: Option<String>,
    },
    /// Delivered.
    Delivered {
        /// When.
        at: DateTime<Utc>,
    },
    /// Given up: a permanent error, or the retries ran out.
    Failed {
        /// When.
        at: DateTime<Utc>,
        /// The last error.
        error: String,
    },
    /// Not sent: the subscriber unsubscribed, or a newer confirmation request replaced it.
    Dropped {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A message queued to a subscriber, with what was (or will be) sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueuedMessage {
    /// Its key.
    pub key: String,
    /// To whom.
    pub subscriber: SubscriberId,
    /// Confirmation request or bulletin.
    pub kind: MessageKind,
    /// The locale it was rendered in.
    pub locale: String,
    /// The subject.
    pub subject: String,
    /// The body, footer included.
    pub body: String,
    /// The SMS text, for an SMS contact.
    pub sms: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Where it stands.
    pub state: MessageState,
}

/// What [`Subscriptions::subscribe`](super::Subscriptions::subscribe) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subscribed {
    /// The subscriber (new, or the contact's existing one).
    pub id: SubscriberId,
    /// Their state now.
    pub state: SubscriberState,
    /// The key of the confirmation request queued; `None` when nothing needed confirming
    /// (a confirmed subscriber asking for services it already has).
    pub confirmation: Option<String>,
}

/// What [`Subscriptions::publish`](super::Subscriptions::publish) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The bulletin's key.
    pub key: String,
    /// Messages queued now (0 if it was published before).
    pub queued: usize,
    /// Whether it had been published before (nothing was done).
    pub already: bool,
}

/// What [`Subscriptions::sync`](super::Subscriptions::sync) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Synced {
    /// Customer updates published now.
    pub bulletins: usize,
    /// Messages queued for them.
    pub queued: usize,
}

/// What [`Subscriptions::erase`](super::Subscriptions::erase) removed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Erased {
    /// The subscriber's (former) id.
    pub id: SubscriberId,
    /// Messages queued or sent to them that were removed.
    pub messages: usize,
}

/// What [`Subscriptions::dispatch`](super::Subscriptions::dispatch) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dispatched {
    /// Messages delivered.
    pub delivered: usize,
    /// Failed attempts to be retried.
    pub retried: usize,
    /// Messages given up.
    pub failed: usize,
    /// Messages dropped because their subscriber may no longer receive them.
    pub dropped: usize,
    /// Maintenance reminders fanned out.
    pub reminders: usize,
}
