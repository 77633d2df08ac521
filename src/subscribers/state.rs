//! The subscribers' state, the changes a store records, and their fold.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::values::{Contact, SubscriberId, Token};
use crate::model::Service;

/// One recorded change to the subscribers' state: what a [`SubscriberStore`] appends and
/// loads. Opaque: a store keeps them in order (see [`MemorySubscribers`]); the file store
/// writes them as private, versioned records.
///
/// [`SubscriberStore`]: super::SubscriberStore
/// [`MemorySubscribers`]: super::MemorySubscribers
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change(pub(super) Kind);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// A subscriber as it now is (new or changed).
    Put(Sub),
    /// A subscriber and everything about them removed: the tombstone.
    Erased(SubscriberId),
    /// A message queued, or (in a snapshot) a message as it stands.
    Queued(Msg),
    /// A delivery attempt's outcome.
    Attempted { key: String, outcome: Outcome },
    /// A bulletin (or reminder) key published.
    Published(String),
    /// A maintenance reminder to fan out when due.
    Scheduled(Reminder),
    /// A reminder fanned out (or dropped because the maintenance started).
    ReminderDone(String),
    /// How many subscribers were erased so far (in snapshots).
    ErasedCount(u64),
}

/// A subscriber's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubscriberState {
    /// Subscribed, waiting for the confirmation link to be followed.
    Pending,
    /// Confirmed: receives bulletins for its services.
    Confirmed,
    /// Unsubscribed: receives nothing; the contact is kept until erased.
    Unsubscribed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sub {
    pub(super) id: SubscriberId,
    pub(super) contact: Contact,
    /// Confirmed services.
    pub(super) services: BTreeSet<Service>,
    /// Services asked for, added on confirmation.
    pub(super) adding: BTreeSet<Service>,
    pub(super) locale: String,
    pub(super) state: SubscriberState,
    pub(super) created_at: DateTime<Utc>,
    pub(super) confirmed_at: Option<DateTime<Utc>>,
    pub(super) confirm_token: Token,
    pub(super) confirm_expires: DateTime<Utc>,
    pub(super) unsubscribe_token: Token,
    /// Confirmation messages sent so far (numbers their keys).
    pub(super) confirmations: u32,
}

/// What a queued message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// A double opt-in confirmation request.
    Confirmation,
    /// A customer update, maintenance announcement or reminder.
    Bulletin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Msg {
    pub(super) key: String,
    pub(super) subscriber: SubscriberId,
    pub(super) kind: MessageKind,
    pub(super) locale: String,
    pub(super) subject: String,
    pub(super) text: String,
    pub(super) footer: String,
    pub(super) sms: Option<String>,
    pub(super) unsubscribe_link: String,
    pub(super) attempts: u32,
    pub(super) status: Status,
}

/// Where a message stands (also a recorded outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
    Pending {
        due: DateTime<Utc>,
        error: Option<String>,
    },
    Delivered {
        at: DateTime<Utc>,
    },
    Failed {
        at: DateTime<Utc>,
        error: String,
    },
    Dropped {
        at: DateTime<Utc>,
    },
}

/// The outcome of an attempt: the new status and attempt count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outcome {
    pub(super) attempts: u32,
    pub(super) status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reminder {
    /// `<bulletin key>/reminder`.
    pub(super) key: String,
    pub(super) services: BTreeSet<Service>,
    pub(super) what: String,
    pub(super) starts: DateTime<Utc>,
    pub(super) due: DateTime<Utc>,
}

/// Which link a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenUse {
    Confirm,
    Unsubscribe,
}

/// The fold of the changes.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) subs: BTreeMap<SubscriberId, Sub>,
    pub(super) by_contact: HashMap<Contact, SubscriberId>,
    pub(super) tokens: HashMap<Token, (SubscriberId, TokenUse)>,
    pub(super) messages: BTreeMap<String, Msg>,
    pub(super) published: BTreeSet<String>,
    pub(super) reminders: BTreeMap<String, Reminder>,
    pub(super) erased: u64,
}

impl State {
    pub(super) fn apply(&mut self, change: &Change) {
        match &change.0 {
            Kind::Put(sub) => {
                if let Some(old) = self.subs.get(&sub.id) {
                    self.tokens.remove(&old.confirm_token);
                    self.tokens.remove(&old.unsubscribe_token);
                    self.by_contact.remove(&old.contact);
                }
                self.tokens
                    .insert(sub.confirm_token.clone(), (sub.id, TokenUse::Confirm));
                self.tokens.insert(
                    sub.unsubscribe_token.clone(),
                    (sub.id, TokenUse::Unsubscribe),
                );
                self.by_contact.insert(sub.contact.clone(), sub.id);
                self.subs.insert(sub.id, sub.clone());
            }
            Kind::Erased(id) => {
                if let Some(old) = self.subs.remove(id) {
                    self.tokens.remove(&old.confirm_token);
                    self.tokens.remove(&old.unsubscribe_token);
                    self.by_contact.remove(&old.contact);
                    self.erased += 1;
                }
                self.messages.retain(|_, m| m.subscriber != *id);
            }
            Kind::Queued(msg) => {
                self.messages.insert(msg.key.clone(), msg.clone());
            }
            Kind::Attempted { key, outcome } => {
                if let Some(m) = self.messages.get_mut(key) {
                    m.attempts = outcome.attempts;
                    m.status = outcome.status.clone();
                }
            }
            Kind::Published(key) => {
                self.published.insert(key.clone());
            }
            Kind::Scheduled(r) => {
                self.reminders.insert(r.key.clone(), r.clone());
            }
            Kind::ReminderDone(key) => {
                self.reminders.remove(key);
            }
            Kind::ErasedCount(n) => self.erased = *n,
        }
    }

    /// The changes that rebuild this state, for compaction: no tombstone, nothing of an
    /// erased subscriber.
    pub(super) fn snapshot(&self) -> Vec<Change> {
        let mut out = Vec::with_capacity(
            self.subs.len() + self.messages.len() + self.published.len() + self.reminders.len() + 1,
        );
        out.push(Change(Kind::ErasedCount(self.erased)));
        out.extend(self.subs.values().map(|s| Change(Kind::Put(s.clone()))));
        out.extend(
            self.messages
                .values()
                .map(|m| Change(Kind::Queued(m.clone()))),
        );
        out.extend(
            self.published
                .iter()
                .map(|k| Change(Kind::Published(k.clone()))),
        );
        out.extend(
            self.reminders
                .values()
                .map(|r| Change(Kind::Scheduled(r.clone()))),
        );
        out
    }

    /// Whether `msg` may still go out: its subscriber is there and, for a bulletin,
    /// confirmed; for a confirmation request, something is still to confirm (pending, or
    /// services added), its link is alive at `now` and the latest one.
    pub(super) fn may_send(&self, msg: &Msg, now: DateTime<Utc>) -> bool {
        let Some(sub) = self.subs.get(&msg.subscriber) else {
            return false;
        };
        match msg.kind {
            MessageKind::Bulletin => sub.state == SubscriberState::Confirmed,
            MessageKind::Confirmation => {
                (sub.state == SubscriberState::Pending || !sub.adding.is_empty())
                    && now < sub.confirm_expires
                    && msg.key == confirmation_key(sub.id, sub.confirmations)
            }
        }
    }
}

/// The key of a subscriber's `n`th confirmation request.
pub(super) fn confirmation_key(id: SubscriberId, n: u32) -> String {
    format!("confirm/{id}/{n}")
}
