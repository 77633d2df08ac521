//! The stored form of a [`Change`]: private, versioned records (schema 1), converted both
//! ways by exhaustive matches; decoding rebuilds values through the public constructors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::state::{
    Change, Kind, MessageKind, Msg, Outcome, Reminder, Status, Sub, SubscriberState,
};
use super::values::{Contact, SubscriberId, Token};
use crate::model::Service;

/// The schema written now.
pub(super) const SCHEMA: u32 = 1;

/// One journal line's payload: a batch of changes, appended atomically.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Line {
    pub(super) schema: u32,
    pub(super) changes: Vec<ChangeRec>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ChangeRec {
    Put {
        id: Uuid,
        contact: ContactRec,
        services: Vec<String>,
        adding: Vec<String>,
        locale: String,
        state: StateRec,
        created_at: DateTime<Utc>,
        confirmed_at: Option<DateTime<Utc>>,
        confirm_token: String,
        confirm_expires: DateTime<Utc>,
        unsubscribe_token: String,
        confirmations: u32,
    },
    Erased {
        id: Uuid,
    },
    Queued {
        key: String,
        subscriber: Uuid,
        kind: KindRec,
        locale: String,
        subject: String,
        text: String,
        footer: String,
        sms: Option<String>,
        unsubscribe_link: String,
        attempts: u32,
        status: StatusRec,
    },
    Attempted {
        key: String,
        attempts: u32,
        status: StatusRec,
    },
    Published {
        key: String,
    },
    Scheduled {
        key: String,
        services: Vec<String>,
        what: String,
        starts: DateTime<Utc>,
        due: DateTime<Utc>,
    },
    ReminderDone {
        key: String,
    },
    ErasedCount {
        count: u64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
pub(super) enum ContactRec {
    Email(String),
    Sms(String),
    Webhook(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum StateRec {
    Pending,
    Confirmed,
    Unsubscribed,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum KindRec {
    Confirmation,
    Bulletin,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(super) enum StatusRec {
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

fn services_of(s: &std::collections::BTreeSet<Service>) -> Vec<String> {
    s.iter().map(|s| s.as_str().to_string()).collect()
}

fn status_of(s: &Status) -> StatusRec {
    match s {
        Status::Pending { due, error } => StatusRec::Pending {
            due: *due,
            error: error.clone(),
        },
        Status::Delivered { at } => StatusRec::Delivered { at: *at },
        Status::Failed { at, error } => StatusRec::Failed {
            at: *at,
            error: error.clone(),
        },
        Status::Dropped { at } => StatusRec::Dropped { at: *at },
    }
}

/// The record of `change`.
pub(super) fn of(change: &Change) -> ChangeRec {
    match &change.0 {
        Kind::Put(s) => ChangeRec::Put {
            id: *s.id.as_uuid(),
            contact: match &s.contact {
                Contact::Email(e) => ContactRec::Email(e.as_str().to_string()),
                Contact::Sms(p) => ContactRec::Sms(p.as_str().to_string()),
                Contact::Webhook(w) => ContactRec::Webhook(w.as_str().to_string()),
            },
            services: services_of(&s.services),
            adding: services_of(&s.adding),
            locale: s.locale.clone(),
            state: match s.state {
                SubscriberState::Pending => StateRec::Pending,
                SubscriberState::Confirmed => StateRec::Confirmed,
                SubscriberState::Unsubscribed => StateRec::Unsubscribed,
            },
            created_at: s.created_at,
            confirmed_at: s.confirmed_at,
            confirm_token: s.confirm_token.as_str().to_string(),
            confirm_expires: s.confirm_expires,
            unsubscribe_token: s.unsubscribe_token.as_str().to_string(),
            confirmations: s.confirmations,
        },
        Kind::Erased(id) => ChangeRec::Erased { id: *id.as_uuid() },
        Kind::Queued(m) => ChangeRec::Queued {
            key: m.key.clone(),
            subscriber: *m.subscriber.as_uuid(),
            kind: match m.kind {
                MessageKind::Confirmation => KindRec::Confirmation,
                MessageKind::Bulletin => KindRec::Bulletin,
            },
            locale: m.locale.clone(),
            subject: m.subject.clone(),
            text: m.text.clone(),
            footer: m.footer.clone(),
            sms: m.sms.clone(),
            unsubscribe_link: m.unsubscribe_link.clone(),
            attempts: m.attempts,
            status: status_of(&m.status),
        },
        Kind::Attempted { key, outcome } => ChangeRec::Attempted {
            key: key.clone(),
            attempts: outcome.attempts,
            status: status_of(&outcome.status),
        },
        Kind::Published(key) => ChangeRec::Published { key: key.clone() },
        Kind::Scheduled(r) => ChangeRec::Scheduled {
            key: r.key.clone(),
            services: services_of(&r.services),
            what: r.what.clone(),
            starts: r.starts,
            due: r.due,
        },
        Kind::ReminderDone(key) => ChangeRec::ReminderDone { key: key.clone() },
        Kind::ErasedCount(count) => ChangeRec::ErasedCount { count: *count },
    }
}

fn services(names: Vec<String>) -> Result<std::collections::BTreeSet<Service>, String> {
    names
        .into_iter()
        .map(|n| Service::new(n).map_err(|e| e.to_string()))
        .collect()
}

fn token(s: &str) -> Result<Token, String> {
    Token::parse(s).ok_or_else(|| "a token is not 24 URL-safe base64 characters".to_string())
}

fn status(s: StatusRec) -> Status {
    match s {
        StatusRec::Pending { due, error } => Status::Pending { due, error },
        StatusRec::Delivered { at } => Status::Delivered { at },
        StatusRec::Failed { at, error } => Status::Failed { at, error },
        StatusRec::Dropped { at } => Status::Dropped { at },
    }
}

/// The change a record holds, checked.
pub(super) fn decode(rec: ChangeRec) -> Result<Change, String> {
    let kind = match rec {
        ChangeRec::Put {
            id,
            contact,
            services: confirmed,
            adding,
            locale,
            state,
            created_at,
            confirmed_at,
            confirm_token,
            confirm_expires,
            unsubscribe_token,
            confirmations,
        } => Kind::Put(Sub {
            id: SubscriberId::from_uuid(id),
            contact: match contact {
                ContactRec::Email(a) => Contact::email(&a),
                ContactRec::Sms(a) => Contact::sms(&a),
                ContactRec::Webhook(a) => Contact::webhook(&a),
            }
            .map_err(|e| e.to_string())?,
            services: services(confirmed)?,
            adding: services(adding)?,
            locale: super::values::check_locale(&locale).map_err(|e| e.to_string())?,
            state: match state {
                StateRec::Pending => SubscriberState::Pending,
                StateRec::Confirmed => SubscriberState::Confirmed,
                StateRec::Unsubscribed => SubscriberState::Unsubscribed,
            },
            created_at,
            confirmed_at,
            confirm_token: token(&confirm_token)?,
            confirm_expires,
            unsubscribe_token: token(&unsubscribe_token)?,
            confirmations,
        }),
        ChangeRec::Erased { id } => Kind::Erased(SubscriberId::from_uuid(id)),
        ChangeRec::Queued {
            key,
            subscriber,
            kind,
            locale,
            subject,
            text,
            footer,
            sms,
            unsubscribe_link,
            attempts,
            status: s,
        } => Kind::Queued(Msg {
            key,
            subscriber: SubscriberId::from_uuid(subscriber),
            kind: match kind {
                KindRec::Confirmation => MessageKind::Confirmation,
                KindRec::Bulletin => MessageKind::Bulletin,
            },
            locale,
            subject,
            text,
            footer,
            sms,
            unsubscribe_link,
            attempts,
            status: status(s),
        }),
        ChangeRec::Attempted {
            key,
            attempts,
            status: s,
        } => Kind::Attempted {
            key,
            outcome: Outcome {
                attempts,
                status: status(s),
            },
        },
        ChangeRec::Published { key } => Kind::Published(key),
        ChangeRec::Scheduled {
            key,
            services: names,
            what,
            starts,
            due,
        } => Kind::Scheduled(Reminder {
            key,
            services: services(names)?,
            what,
            starts,
            due,
        }),
        ChangeRec::ReminderDone { key } => Kind::ReminderDone(key),
        ChangeRec::ErasedCount { count } => Kind::ErasedCount(count),
    };
    Ok(Change(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeSet;

    /// One change of each kind, every status and contact kind among them.
    fn every_change() -> Vec<Change> {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap();
        let id = SubscriberId::new(at);
        let services: BTreeSet<Service> = [Service::new("קופות").unwrap()].into();
        let sub = |contact: Contact, state| Sub {
            id,
            contact,
            services: services.clone(),
            adding: BTreeSet::new(),
            locale: "he-IL".into(),
            state,
            created_at: at,
            confirmed_at: Some(at),
            confirm_token: Token::random(),
            confirm_expires: at,
            unsubscribe_token: Token::random(),
            confirmations: 2,
        };
        let msg = |status| Msg {
            key: format!("confirm/{id}/1"),
            subscriber: id,
            kind: MessageKind::Confirmation,
            locale: "he".into(),
            subject: "s".into(),
            text: "t".into(),
            footer: "f".into(),
            sms: Some("x".into()),
            unsubscribe_link: "https://s.example/u".into(),
            attempts: 1,
            status,
        };
        let mut out = vec![
            Change(Kind::Put(sub(
                Contact::email("a@b.example").unwrap(),
                SubscriberState::Pending,
            ))),
            Change(Kind::Put(sub(
                Contact::sms("+972501234567").unwrap(),
                SubscriberState::Confirmed,
            ))),
            Change(Kind::Put(sub(
                Contact::webhook("https://h.example/x").unwrap(),
                SubscriberState::Unsubscribed,
            ))),
            Change(Kind::Erased(id)),
            Change(Kind::Published("k".into())),
            Change(Kind::Scheduled(Reminder {
                key: "maintenance/x/reminder".into(),
                services,
                what: "w".into(),
                starts: at,
                due: at,
            })),
            Change(Kind::ReminderDone("maintenance/x/reminder".into())),
            Change(Kind::ErasedCount(3)),
        ];
        for status in [
            Status::Pending {
                due: at,
                error: Some("e".into()),
            },
            Status::Delivered { at },
            Status::Failed {
                at,
                error: "e".into(),
            },
            Status::Dropped { at },
        ] {
            out.push(Change(Kind::Queued(msg(status.clone()))));
            out.push(Change(Kind::Attempted {
                key: "k".into(),
                outcome: Outcome {
                    attempts: 4,
                    status,
                },
            }));
        }
        out
    }

    #[test]
    fn every_change_round_trips_through_its_record() {
        for change in every_change() {
            let json = serde_json::to_string(&of(&change)).unwrap();
            let back: ChangeRec = serde_json::from_str(&json).unwrap();
            assert_eq!(decode(back).unwrap(), change, "{json}");
        }
    }

    #[test]
    fn a_record_that_breaks_a_rule_does_not_decode() {
        let json = r#"{"type":"put","id":"0190c8f4-6a3e-7c2d-9b1a-3f5e8d7c6b5a","contact":{"kind":"email","address":"no at sign"},"services":[],"adding":[],"locale":"en","state":"pending","created_at":"2026-12-03T07:00:00Z","confirmed_at":null,"confirm_token":"x","confirm_expires":"2026-12-03T07:00:00Z","unsubscribe_token":"x","confirmations":1}"#;
        let rec: ChangeRec = serde_json::from_str(json).unwrap();
        assert!(decode(rec).is_err());
    }

    #[test]
    fn tokens_are_redacted_in_debug() {
        let t = Token::random();
        assert_eq!(t.as_str().len(), 24);
        assert_ne!(Token::random(), t);
        assert_eq!(Token::parse(t.as_str()), Some(t.clone()));
        assert!(!format!("{t:?}").contains(t.as_str()));
    }
}
