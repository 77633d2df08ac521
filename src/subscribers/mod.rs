//! Customers who subscribe to updates themselves (feature `subscribers`): by e-mail, SMS or
//! webhook, with double opt-in, an unsubscribe link in every message, erasure on request, and
//! public customer updates and scheduled maintenance fanned out to them exactly once.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use chrono::{Duration, TimeZone, Utc};
//! use incidents::l10n::Catalogs;
//! use incidents::subscribers::{Bulletin, Contact, MemorySubscribers, Outgoing, Settings, Subscriptions};
//! use incidents::{IncidentId, Service};
//!
//! let mut settings = Settings::new(
//!     "https://shop.example/updates/confirm?t={token}",
//!     "https://shop.example/updates/stop?t={token}",
//! );
//! settings.zone = chrono_tz::Asia::Jerusalem;
//! let catalogs = Arc::new(Catalogs::builder().build()?);
//! let subs = Subscriptions::open(MemorySubscribers::new(), catalogs, settings)?;
//! let tills = Service::new("קופות")?;
//! let now = Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap();
//! // The host's notifier: here, an outbox in memory.
//! let sent = Mutex::new(Vec::<Outgoing>::new());
//! let notifier = |out: &Outgoing| {
//!     sent.lock().unwrap().push(out.clone());
//!     Ok(())
//! };
//!
//! // Dana subscribes in Hebrew; the confirmation request goes out in Hebrew.
//! subs.subscribe(Contact::email("dana@cafe.example")?, [tills.clone()], "he", now)?;
//! subs.dispatch(&notifier, now)?;
//! let request = sent.lock().unwrap().pop().unwrap();
//! assert!(request.subject.starts_with("אישור הרשמה"));
//! // She follows the link; the host's page passes its token on.
//! let token = request.text.split("t=").nth(1).unwrap().split('\u{2069}').next().unwrap();
//! subs.confirm(token, now + Duration::minutes(5))?;
//!
//! // A public update fans out to her once, with the unsubscribe footer.
//! let later = now + Duration::minutes(30);
//! let update = Bulletin::customer_update(
//!     IncidentId::from_bytes([7; 16]), 0, tills, "הקופות חזרו לעבוד.", later,
//! )?;
//! assert_eq!(subs.publish(&update, later)?.queued, 1);
//! assert_eq!(subs.publish(&update, later)?.queued, 0); // exactly once
//! assert_eq!(subs.dispatch(&notifier, later)?.delivered, 1);
//! let update = sent.lock().unwrap().pop().unwrap();
//! assert!(update.body.contains("הקופות חזרו לעבוד.") && update.body.contains("להסרה"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Opt-in, unsubscribing
//!
//! [`Subscriptions::subscribe`] records a *pending* subscriber and queues a confirmation
//! request ([`Message::SubscriptionConfirmation`]) in the subscriber's language, with a link
//! holding an unguessable token ([`Settings::confirm_link`]) that lives
//! [`Settings::confirm_within`] (48 hours by default). [`Subscriptions::confirm`] with that
//! token makes the services *confirmed*; an expired link is refused
//! ([`SubscriberError::Expired`]) and changes nothing. One contact is one subscriber:
//! subscribing a pending contact again asks for the services added and sends a fresh link (the
//! old one stops working); a confirmed contact keeps what it has and gets a link to confirm
//! the services added; an unsubscribed contact starts over. Every message ends with the
//! unsubscribe footer ([`Message::UnsubscribeFooter`]); [`Subscriptions::unsubscribe`] with
//! its token drops every message still queued to the subscriber, and none is sent again.
//!
//! # Exactly once
//!
//! A [`Bulletin`] — a public customer update, or a scheduled maintenance announcement —
//! is published once per key: [`Subscriptions::publish`] records the key in the same atomic
//! append as the messages it queues, one per confirmed subscriber of an affected service
//! (confirmed no later than the bulletin's time), keyed `<bulletin key>/<subscriber id>`.
//! Publishing it again, also after a restart, queues nothing. [`Subscriptions::sync`] does
//! this for every customer update on a desk's incidents. A maintenance announcement also
//! schedules a reminder ([`Message::MaintenanceReminder`]) at `starts -`
//! [`Settings::remind_before`], fanned out by [`Subscriptions::dispatch`] when due, once.
//! Delivery is **at least once**: [`Subscriptions::dispatch`] hands each due message to the
//! host's [`SubscriberNotifier`] outside the lock and records the outcome after; if the
//! process dies in between, the same message (same key) is delivered again after a restart.
//! Each message is queued once, so it is never *requested* twice; receivers drop repeated keys.
//! Transient failures are retried on [`Settings::backoff`], permanent ones are given up.
//!
//! # Personal data and erasure
//!
//! The incident log is append-only, so it never holds a subscriber's contact: fan-out lives
//! here, in a subscriber store that is **rewritable** ([`SubscriberStore::compact`]). The
//! desk's events, whatever backend holds them, know nothing of subscribers. A customer's
//! "delete my data" request is [`Subscriptions::erase`] (or
//! [`erase_contact`](Subscriptions::erase_contact)): it appends a tombstone and, before
//! returning, compacts the store to the state without that subscriber — its contact, services,
//! language, tokens, and every message queued or sent to it (whose text held the tokens) are
//! gone, and with [`FileSubscribers`] no byte of them is left in the store's files (the journal
//! is rewritten into a new file, flushed, and renamed over the old one). What remains is a
//! count of erased subscribers ([`Subscriptions::erased_count`]) and the keys of the
//! bulletins published, which name incidents and maintenance, not people. If the compaction
//! fails after the tombstone was recorded, the subscriber is already gone from memory; the
//! next [`Subscriptions::open`] (which compacts when it finds a tombstone) or
//! [`Subscriptions::compact`] finishes the job. Unsubscribing is not erasure: an unsubscribed
//! contact is kept, receiving nothing, until erased. A contact that was typed in but never
//! confirmed is not kept either: [`Subscriptions::purge_unconfirmed`] erases every
//! subscriber whose confirmation link expired unconfirmed (run it daily).
//!
//! What was sent stays recorded with each message (language, subject, body, SMS text) until
//! the subscriber is erased: [`Subscriptions::messages`].
//!
//! [`Message::SubscriptionConfirmation`]: crate::l10n::Message::SubscriptionConfirmation
//! [`Message::UnsubscribeFooter`]: crate::l10n::Message::UnsubscribeFooter
//! [`Message::MaintenanceReminder`]: crate::l10n::Message::MaintenanceReminder

#[cfg(feature = "file")]
mod file;
mod outcome;
#[cfg(feature = "file")]
mod record;
mod state;
mod store;
mod subscriptions;
mod values;

#[cfg(feature = "file")]
pub use file::{FileSubscribers, JournalReport};
pub use outcome::{
    Dispatched, Erased, MessageState, Outgoing, Published, QueuedMessage, Subscribed, Subscriber,
    SubscriberNotifier, Synced,
};
pub use state::{Change, MessageKind, SubscriberState};
pub use store::{MemorySubscribers, SubscriberStore};
pub use subscriptions::Subscriptions;
pub use values::{Bulletin, Contact, Email, Settings, SubscriberError, SubscriberId, WebhookUrl};
