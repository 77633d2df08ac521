//! The incident's outbox: the notifications requested for it and where each stands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event, Notification};

/// Where a requested notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Delivery {
    /// Not delivered yet; the next attempt is due at `next_attempt`.
    Pending {
        /// When to try (again).
        next_attempt: DateTime<Utc>,
    },
    /// Delivered.
    Delivered {
        /// When.
        at: DateTime<Utc>,
    },
    /// The outbox gave up after its last attempt failed.
    GaveUp {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A notification in the incident's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutboxEntry {
    /// What to send.
    pub notification: Notification,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Where it stands.
    pub delivery: Delivery,
}

/// The incident's part that owns its outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Outbox {
    pub(super) outbox: Vec<OutboxEntry>,
}

impl Outbox {
    fn entry(&self, key: &str) -> Option<&OutboxEntry> {
        self.outbox.iter().find(|e| e.notification.key == key)
    }

    fn entry_mut(&mut self, key: &str) -> Option<&mut OutboxEntry> {
        self.outbox.iter_mut().find(|e| e.notification.key == key)
    }

    /// Why `event` cannot happen here, if it cannot: a notification requested twice, or a
    /// delivery record for one that is unknown or settled.
    pub(super) fn check(&self, event: &Event) -> Option<String> {
        match &event.change {
            Change::NotificationRequested { notification } => self
                .entry(&notification.key)
                .map(|_| format!("notification {} requested twice", notification.key)),
            Change::NotificationDelivered { key } | Change::NotificationFailed { key, .. } => {
                match self.entry(key) {
                    None => Some(format!("delivery record for unknown notification {key}")),
                    Some(entry) if !matches!(entry.delivery, Delivery::Pending { .. }) => {
                        Some(format!("delivery record for settled notification {key}"))
                    }
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }

    /// Folds `event`.
    pub(super) fn apply(&mut self, event: &Event) {
        match &event.change {
            Change::NotificationRequested { notification } => super::push_small(
                &mut self.outbox,
                OutboxEntry {
                    notification: notification.clone(),
                    requested_at: event.at,
                    attempts: 0,
                    delivery: Delivery::Pending {
                        next_attempt: event.at,
                    },
                },
            ),
            Change::NotificationDelivered { key } => {
                if let Some(entry) = self.entry_mut(key) {
                    entry.delivery = Delivery::Delivered { at: event.at };
                }
            }
            Change::NotificationFailed {
                key,
                attempt,
                retry_at,
                ..
            } => {
                if let Some(entry) = self.entry_mut(key) {
                    entry.attempts = *attempt;
                    entry.delivery = match retry_at {
                        Some(next_attempt) => Delivery::Pending {
                            next_attempt: *next_attempt,
                        },
                        None => Delivery::GaveUp { at: event.at },
                    };
                }
            }
            _ => {}
        }
    }
}
