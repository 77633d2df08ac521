//! [`Subscriptions`]: the operations, and what they return.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::outcome::{
    Dispatched, Erased, MessageState, Outgoing, Published, QueuedMessage, Subscribed, Subscriber,
    SubscriberNotifier, Synced,
};
use super::state::{
    Change, Kind, MessageKind, Msg, Outcome, Reminder, State, Status, Sub, SubscriberState,
    confirmation_key,
};
use super::store::SubscriberStore;
use super::values::{
    Bulletin, BulletinKind, Contact, Settings, SubscriberError, SubscriberId, Token, check_locale,
};
use crate::clock::Clock;
use crate::desk::Desk;
use crate::error::Invalid;
use crate::l10n::{Catalogs, Message};
use crate::model::{IncidentId, Service};
use crate::store::Store;

type Result<T> = std::result::Result<T, SubscriberError>;

/// The subscribers of a shop and their messages, kept in a [`SubscriberStore`].
///
/// `Send + Sync`; every operation takes `&self` and is durable when it returns `Ok`. Time is
/// always an argument (`now`). See the [module docs](super) for the whole story.
#[derive(Debug)]
pub struct Subscriptions<S: SubscriberStore> {
    inner: Mutex<Inner<S>>,
    catalogs: Arc<Catalogs>,
    settings: Settings,
    /// For [`sync`](Subscriptions::sync): how many of each incident's customer updates are
    /// known published, so a sync looks at each incident without copying it and publishes
    /// only what is new. Empty after a restart (the first sync checks every update against
    /// the store's keys, as publishing always does).
    synced: Mutex<HashMap<IncidentId, usize>>,
}

#[derive(Debug)]
struct Inner<S> {
    store: S,
    state: State,
    /// Keys being delivered by a `dispatch` now.
    in_flight: HashSet<String>,
}

impl<S: SubscriberStore> Inner<S> {
    /// Appends `changes` and, once durable, folds them.
    fn commit(&mut self, changes: &[Change]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.store.append(changes)?;
        for c in changes {
            self.state.apply(c);
        }
        Ok(())
    }
}

fn joined(services: &BTreeSet<Service>) -> String {
    services
        .iter()
        .map(Service::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn drop_pending(
    state: &State,
    id: SubscriberId,
    kind: Option<MessageKind>,
    now: DateTime<Utc>,
) -> Vec<Change> {
    state
        .messages
        .values()
        .filter(|m| {
            m.subscriber == id
                && matches!(m.status, Status::Pending { .. })
                && kind.is_none_or(|k| k == m.kind)
        })
        .map(|m| {
            Change(Kind::Attempted {
                key: m.key.clone(),
                outcome: Outcome {
                    attempts: m.attempts,
                    status: Status::Dropped { at: now },
                },
            })
        })
        .collect()
}

impl<S: SubscriberStore> Subscriptions<S> {
    /// Opens the subscribers kept in `store`, rendering with `catalogs` as `settings` say. If
    /// the store holds a tombstone (an erasure whose compaction did not finish), it is
    /// compacted now.
    ///
    /// # Errors
    /// [`SubscriberError::Invalid`] for bad settings (a link without `{token}`, not
    /// `http(s)://`); the store's read and compaction errors.
    pub fn open(mut store: S, catalogs: Arc<Catalogs>, settings: Settings) -> Result<Self> {
        settings.check()?;
        let changes = store.load()?;
        let mut state = State::default();
        let mut tombstone = false;
        for c in &changes {
            tombstone |= matches!(c.0, Kind::Erased(_));
            state.apply(c);
        }
        if tombstone {
            store.compact(&state.snapshot())?;
        }
        Ok(Subscriptions {
            inner: Mutex::new(Inner {
                store,
                state,
                in_flight: HashSet::new(),
            }),
            catalogs,
            settings,
            synced: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Gives the store back (a test's restart: reopen it with [`Subscriptions::open`]).
    pub fn into_store(self) -> S {
        self.inner
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Renders `message` for `sub` into a queued message.
    fn render(
        &self,
        sub: &Sub,
        message: &Message<'_>,
        kind: MessageKind,
        key: String,
        due: DateTime<Utc>,
    ) -> Msg {
        let zone = self.settings.zone;
        let unsubscribe_link =
            Settings::link(&self.settings.unsubscribe_link, &sub.unsubscribe_token);
        let rendered = self.catalogs.render(&sub.locale, zone, message);
        let footer = self
            .catalogs
            .render(
                &sub.locale,
                zone,
                &Message::UnsubscribeFooter {
                    link: &unsubscribe_link,
                },
            )
            .body;
        let sms = match sub.contact {
            Contact::Sms(_) => rendered.sms.map(|s| s.text),
            _ => None,
        };
        Msg {
            key,
            subscriber: sub.id,
            kind,
            locale: rendered.locale,
            subject: rendered.subject.unwrap_or_default(),
            text: rendered.body,
            footer,
            sms,
            unsubscribe_link,
            attempts: 0,
            status: Status::Pending { due, error: None },
        }
    }

    /// The confirmation request for `sub`'s latest link.
    fn confirmation(&self, sub: &Sub, now: DateTime<Utc>) -> Msg {
        let link = Settings::link(&self.settings.confirm_link, &sub.confirm_token);
        let service = joined(&sub.adding);
        let hours = u64::try_from((sub.confirm_expires - now).num_hours()).unwrap_or(0);
        let message = Message::SubscriptionConfirmation {
            service: &service,
            link: &link,
            expires: sub.confirm_expires,
            hours,
        };
        self.render(
            sub,
            &message,
            MessageKind::Confirmation,
            confirmation_key(sub.id, sub.confirmations),
            now,
        )
    }

    /// Subscribes `contact` to `services`, in `locale` (a BCP 47 tag), at `now`: a pending
    /// subscriber and a confirmation request to the contact, queued for
    /// [`dispatch`](Subscriptions::dispatch). For a contact already known, see the
    /// [module docs](super#opt-in-unsubscribing): never a second subscriber.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use incidents::subscribers::*;
    /// # let subs = Subscriptions::open(MemorySubscribers::new(), Arc::new(incidents::l10n::Catalogs::builder().build()?),
    /// #     Settings::new("https://s.example/c?t={token}", "https://s.example/u?t={token}"))?;
    /// let now = chrono::Utc::now();
    /// let pos = incidents::Service::new("POS")?;
    /// let first = subs.subscribe(Contact::email("dana@cafe.example")?, [pos.clone()], "en", now)?;
    /// let again = subs.subscribe(Contact::email("dana@cafe.example")?, [pos], "en", now)?;
    /// assert_eq!(first.id, again.id);
    /// assert!(subs.subscribe(Contact::email("dana@cafe.example")?, [], "en", now).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SubscriberError::Invalid`] for no service or a bad locale (nothing changed); the
    /// store's write errors.
    pub fn subscribe(
        &self,
        contact: Contact,
        services: impl IntoIterator<Item = Service>,
        locale: &str,
        now: DateTime<Utc>,
    ) -> Result<Subscribed> {
        let locale = check_locale(locale)?;
        let services: BTreeSet<Service> = services.into_iter().collect();
        if services.is_empty() {
            return Err(Invalid::new("services", "must name at least one service").into());
        }
        let expires = now
            .checked_add_signed(self.settings.confirm_within)
            .ok_or_else(|| Invalid::new("now", "is too far in the future"))?;
        let mut inner = self.lock();
        let existing = inner
            .state
            .by_contact
            .get(&contact)
            .and_then(|id| inner.state.subs.get(id))
            .cloned();
        let sub = match existing {
            None => Sub {
                id: SubscriberId::new(now),
                contact,
                services: BTreeSet::new(),
                adding: services,
                locale,
                state: SubscriberState::Pending,
                created_at: now,
                confirmed_at: None,
                confirm_token: Token::random(),
                confirm_expires: expires,
                unsubscribe_token: Token::random(),
                confirmations: 1,
            },
            Some(mut sub) => {
                match sub.state {
                    SubscriberState::Pending => sub.adding.extend(services),
                    SubscriberState::Confirmed => {
                        sub.adding.extend(services);
                        let have = sub.services.clone();
                        sub.adding.retain(|s| !have.contains(s));
                        if sub.adding.is_empty() {
                            return Ok(Subscribed {
                                id: sub.id,
                                state: sub.state,
                                confirmation: None,
                            });
                        }
                    }
                    SubscriberState::Unsubscribed => {
                        sub.state = SubscriberState::Pending;
                        sub.services.clear();
                        sub.adding = services;
                        sub.confirmed_at = None;
                        sub.unsubscribe_token = Token::random();
                    }
                }
                sub.locale = locale;
                sub.confirm_token = Token::random();
                sub.confirm_expires = expires;
                sub.confirmations = sub.confirmations.saturating_add(1);
                sub
            }
        };
        let mut changes = drop_pending(&inner.state, sub.id, Some(MessageKind::Confirmation), now);
        let message = self.confirmation(&sub, now);
        let outcome = Subscribed {
            id: sub.id,
            state: sub.state,
            confirmation: Some(message.key.clone()),
        };
        changes.push(Change(Kind::Put(sub)));
        changes.push(Change(Kind::Queued(message)));
        inner.commit(&changes)?;
        Ok(outcome)
    }

    /// Confirms the subscription whose confirmation link holds `token`, at `now`: the
    /// services asked for are confirmed. Confirming again is a no-op that returns the same.
    ///
    /// # Errors
    /// [`SubscriberError::UnknownToken`] for a token no pending subscriber has (mistyped,
    /// replaced by a newer link, unsubscribed, erased); [`SubscriberError::Expired`] at or
    /// after the link's expiry (the subscriber stays pending; subscribe again for a new
    /// link). Either changes nothing. The store's write errors.
    pub fn confirm(&self, token: &str, now: DateTime<Utc>) -> Result<Subscriber> {
        let mut inner = self.lock();
        let mut sub = find(&inner.state, token, super::state::TokenUse::Confirm)?;
        if sub.state == SubscriberState::Confirmed && sub.adding.is_empty() {
            return Ok(Subscriber::of(&sub));
        }
        if sub.state == SubscriberState::Unsubscribed {
            return Err(SubscriberError::UnknownToken);
        }
        if now >= sub.confirm_expires {
            return Err(SubscriberError::Expired {
                expired: sub.confirm_expires,
            });
        }
        let adding = std::mem::take(&mut sub.adding);
        sub.services.extend(adding);
        sub.state = SubscriberState::Confirmed;
        sub.confirmed_at.get_or_insert(now);
        let view = Subscriber::of(&sub);
        inner.commit(&[Change(Kind::Put(sub))])?;
        Ok(view)
    }

    /// Unsubscribes the subscriber whose unsubscribe link holds `token`, at `now`: every
    /// message still queued to them is dropped and none is sent again. Unsubscribing again
    /// is a no-op. The contact is kept (see [`erase`](Subscriptions::erase)).
    ///
    /// # Errors
    /// [`SubscriberError::UnknownToken`] (nothing changed); the store's write errors.
    pub fn unsubscribe(&self, token: &str, now: DateTime<Utc>) -> Result<SubscriberId> {
        let mut inner = self.lock();
        let mut sub = find(&inner.state, token, super::state::TokenUse::Unsubscribe)?;
        let id = sub.id;
        if sub.state == SubscriberState::Unsubscribed {
            return Ok(id);
        }
        let mut changes = drop_pending(&inner.state, id, None, now);
        sub.state = SubscriberState::Unsubscribed;
        sub.services.clear();
        sub.adding.clear();
        changes.push(Change(Kind::Put(sub)));
        inner.commit(&changes)?;
        Ok(id)
    }

    /// Erases subscriber `id` for good: a tombstone, then the store compacted, before this
    /// returns (see the [module docs](super#personal-data-and-erasure)).
    ///
    /// # Errors
    /// [`SubscriberError::NotFound`] (nothing changed); the store's errors. If the tombstone
    /// was written but the compaction failed, the subscriber is gone from memory and
    /// [`compact`](Subscriptions::compact) (or the next open) finishes the erasure.
    pub fn erase(&self, id: SubscriberId) -> Result<Erased> {
        let mut inner = self.lock();
        if !inner.state.subs.contains_key(&id) {
            return Err(SubscriberError::NotFound);
        }
        let messages = inner
            .state
            .messages
            .values()
            .filter(|m| m.subscriber == id)
            .count();
        inner.commit(&[Change(Kind::Erased(id))])?;
        let snapshot = inner.state.snapshot();
        inner.store.compact(&snapshot)?;
        Ok(Erased { id, messages })
    }

    /// Erases the subscriber reached at `contact` ("delete my data"), as
    /// [`erase`](Subscriptions::erase) does.
    ///
    /// # Errors
    /// As [`erase`](Subscriptions::erase).
    pub fn erase_contact(&self, contact: &Contact) -> Result<Erased> {
        let id = self
            .lock()
            .state
            .by_contact
            .get(contact)
            .copied()
            .ok_or(SubscriberError::NotFound)?;
        self.erase(id)
    }

    /// Erases, as [`erase`](Subscriptions::erase) does, every subscriber who never
    /// confirmed and whose confirmation link has expired by `now`: a contact someone typed
    /// and never confirmed is not kept past its link. One compaction for all of them. Run it
    /// from the host's daily housekeeping; subscribers who confirmed once (also those later
    /// unsubscribed) are left for [`erase`](Subscriptions::erase). Returns their ids.
    ///
    /// # Errors
    /// The store's write errors: nothing was erased if the tombstones could not be written;
    /// if only the compaction failed, they are gone from memory and
    /// [`compact`](Subscriptions::compact) (or the next open) finishes the erasure.
    pub fn purge_unconfirmed(&self, now: DateTime<Utc>) -> Result<Vec<SubscriberId>> {
        let mut inner = self.lock();
        let expired: Vec<SubscriberId> = inner
            .state
            .subs
            .values()
            .filter(|s| s.state == SubscriberState::Pending && s.confirm_expires <= now)
            .map(|s| s.id)
            .collect();
        if expired.is_empty() {
            return Ok(expired);
        }
        let changes: Vec<Change> = expired.iter().map(|id| Change(Kind::Erased(*id))).collect();
        inner.commit(&changes)?;
        let snapshot = inner.state.snapshot();
        inner.store.compact(&snapshot)?;
        Ok(expired)
    }

    /// Rewrites the store to the current state (what erasure does after its tombstone).
    ///
    /// # Errors
    /// The store's write errors.
    pub fn compact(&self) -> Result<()> {
        let mut inner = self.lock();
        let snapshot = inner.state.snapshot();
        inner.store.compact(&snapshot)
    }

    /// The messages fanning `bulletin` out, decided at `now`.
    fn fan_out(&self, state: &State, bulletin: &Bulletin, now: DateTime<Utc>) -> Vec<Change> {
        let key = bulletin.key();
        let (services, cutoff): (BTreeSet<&Service>, DateTime<Utc>) = match &bulletin.kind {
            BulletinKind::Update {
                service, posted_at, ..
            } => ([service].into(), *posted_at),
            BulletinKind::Maintenance { services, .. } => (services.iter().collect(), now),
        };
        let joined_services = services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let message = match &bulletin.kind {
            BulletinKind::Update { service, text, .. } => Message::CustomerUpdate {
                service: service.as_str(),
                message: text,
            },
            BulletinKind::Maintenance {
                what, starts, ends, ..
            } => Message::MaintenanceScheduled {
                service: &joined_services,
                what,
                starts: *starts,
                ends: *ends,
            },
        };
        let mut changes: Vec<Change> = recipients(state, |s| services.contains(s), cutoff)
            .map(|sub| {
                let key = format!("{key}/{}", sub.id);
                Change(Kind::Queued(self.render(
                    sub,
                    &message,
                    MessageKind::Bulletin,
                    key,
                    now,
                )))
            })
            .collect();
        if let BulletinKind::Maintenance {
            services,
            what,
            starts,
            ..
        } = &bulletin.kind
            && *starts > now
        {
            changes.push(Change(Kind::Scheduled(Reminder {
                key: format!("{key}/reminder"),
                services: services.clone(),
                what: what.clone(),
                starts: *starts,
                due: starts
                    .checked_sub_signed(self.settings.remind_before)
                    .unwrap_or(*starts),
            })));
        }
        changes.push(Change(Kind::Published(key)));
        changes
    }

    /// Publishes `bulletin` at `now`: one message per confirmed subscriber of an affected
    /// service (confirmed no later than the bulletin's time: a customer update's posting,
    /// an announcement's `now`), in their language with the unsubscribe footer; for
    /// maintenance, a reminder too. Once per key, also across restarts.
    ///
    /// # Errors
    /// The store's write errors (nothing recorded then).
    pub fn publish(&self, bulletin: &Bulletin, now: DateTime<Utc>) -> Result<Published> {
        let key = bulletin.key();
        let mut inner = self.lock();
        if inner.state.published.contains(&key) {
            return Ok(Published {
                key,
                queued: 0,
                already: true,
            });
        }
        let changes = self.fan_out(&inner.state, bulletin, now);
        let queued = changes
            .iter()
            .filter(|c| matches!(c.0, Kind::Queued(_)))
            .count();
        inner.commit(&changes)?;
        Ok(Published {
            key,
            queued,
            already: false,
        })
    }

    /// Publishes every customer update on `desk`'s incidents not yet published (each under
    /// the desk's key `<incident id>/customer_update_posted/<n>`). Call it from the host's
    /// loop, or after [`Desk::on_append`] wakes it. Updates already published are skipped,
    /// also after a restart; an update goes only to subscribers confirmed before it was
    /// posted.
    ///
    /// # Errors
    /// The store's write errors; the updates published before one failed stay published.
    pub fn sync<St: Store, C: Clock>(
        &self,
        desk: &Desk<St, C>,
        now: DateTime<Utc>,
    ) -> Result<Synced> {
        let mut seen = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Collect what is new under each incident's lock, publish after.
        let mut new = Vec::new();
        desk.visit(|incident| {
            let updates = incident.customer_updates();
            let from = seen.get(&incident.id()).copied().unwrap_or(0);
            if updates.len() > from {
                let texts: Vec<(usize, String, DateTime<Utc>)> = updates[from..]
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (from + i, e.text.as_str().to_owned(), e.at))
                    .collect();
                new.push((incident.id(), incident.service().clone(), texts));
            }
        });
        new.sort_by_key(|(_, _, texts)| texts.first().map(|t| t.2));
        let mut synced = Synced::default();
        for (id, service, texts) in new {
            for (n, text, at) in texts {
                let bulletin = Bulletin::customer_update(id, n, service.clone(), &text, at)?;
                let published = self.publish(&bulletin, now)?;
                if !published.already {
                    synced.bulletins += 1;
                    synced.queued += published.queued;
                }
                seen.insert(id, n + 1);
            }
        }
        Ok(synced)
    }

    /// When [`dispatch`](Subscriptions::dispatch) next has something to do: the earliest
    /// pending message or maintenance reminder. `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let inner = self.lock();
        let messages = inner
            .state
            .messages
            .values()
            .filter_map(|m| match m.status {
                Status::Pending { due, .. } if !inner.in_flight.contains(&m.key) => Some(due),
                _ => None,
            });
        let reminders = inner.state.reminders.values().map(|r| r.due);
        messages.chain(reminders).min()
    }

    /// Reminders due at `now`, fanned out (or, once the maintenance started, dropped).
    fn due_reminders(&self, state: &State, now: DateTime<Utc>) -> (Vec<Change>, usize) {
        let mut changes = Vec::new();
        let mut fanned = 0;
        for r in state.reminders.values().filter(|r| r.due <= now) {
            if now < r.starts {
                let left = (r.starts - now).num_seconds();
                let minutes = u64::try_from((left + 59) / 60).unwrap_or(0);
                let service = joined(&r.services);
                let message = Message::MaintenanceReminder {
                    service: &service,
                    what: &r.what,
                    starts: r.starts,
                    minutes,
                };
                for sub in recipients(state, |s| r.services.contains(s), r.due) {
                    let key = format!("{}/{}", r.key, sub.id);
                    changes.push(Change(Kind::Queued(self.render(
                        sub,
                        &message,
                        MessageKind::Bulletin,
                        key,
                        now,
                    ))));
                }
                fanned += 1;
            }
            changes.push(Change(Kind::ReminderDone(r.key.clone())));
            changes.push(Change(Kind::Published(r.key.clone())));
        }
        (changes, fanned)
    }

    /// Delivers every message due at `now` through `notifier`, one at a time and outside
    /// the lock, recording each outcome after: delivered, retried later on the backoff
    /// (transient error), or given up (permanent error, retries used up). Before each
    /// delivery it checks again that the subscriber may still receive it (not erased, not
    /// unsubscribed; for a bulletin, confirmed); otherwise the message is dropped. Due
    /// maintenance reminders are fanned out first.
    ///
    /// # Errors
    /// The store's write errors: the dispatch stops there. A message delivered whose
    /// outcome could not be recorded is delivered again later (at least once).
    pub fn dispatch(
        &self,
        notifier: &dyn SubscriberNotifier,
        now: DateTime<Utc>,
    ) -> Result<Dispatched> {
        let mut report = Dispatched::default();
        let keys: Vec<String> = {
            let mut inner = self.lock();
            let (changes, fanned) = self.due_reminders(&inner.state, now);
            inner.commit(&changes)?;
            report.reminders = fanned;
            let mut due: Vec<(DateTime<Utc>, String)> = inner
                .state
                .messages
                .values()
                .filter_map(|m| match m.status {
                    Status::Pending { due, .. }
                        if due <= now && !inner.in_flight.contains(&m.key) =>
                    {
                        Some((due, m.key.clone()))
                    }
                    _ => None,
                })
                .collect();
            due.sort();
            let keys: Vec<String> = due.into_iter().map(|(_, k)| k).collect();
            inner.in_flight.extend(keys.iter().cloned());
            keys
        };
        let result = self.deliver_all(notifier, &keys, now, &mut report);
        let mut inner = self.lock();
        for k in &keys {
            inner.in_flight.remove(k);
        }
        result.map(|()| report)
    }

    fn deliver_all(
        &self,
        notifier: &dyn SubscriberNotifier,
        keys: &[String],
        now: DateTime<Utc>,
        report: &mut Dispatched,
    ) -> Result<()> {
        for key in keys {
            let outgoing = {
                let mut inner = self.lock();
                let Some(msg) = inner.state.messages.get(key).cloned() else {
                    continue; // erased meanwhile
                };
                if !matches!(msg.status, Status::Pending { .. }) {
                    continue;
                }
                let sub = inner.state.subs.get(&msg.subscriber).cloned();
                match sub {
                    Some(sub) if inner.state.may_send(&msg, now) => Outgoing {
                        key: msg.key.clone(),
                        subscriber: msg.subscriber,
                        contact: sub.contact.clone(),
                        locale: msg.locale.clone(),
                        subject: msg.subject.clone(),
                        body: format!("{}\n\n{}", msg.text, msg.footer),
                        text: msg.text.clone(),
                        footer: msg.footer.clone(),
                        sms: msg.sms.clone(),
                        unsubscribe_link: msg.unsubscribe_link.clone(),
                    },
                    _ => {
                        inner.commit(&[attempted(
                            &msg,
                            msg.attempts,
                            Status::Dropped { at: now },
                        )])?;
                        report.dropped += 1;
                        continue;
                    }
                }
            };
            let result = notifier.deliver(&outgoing);
            let mut inner = self.lock();
            let Some(msg) = inner.state.messages.get(key).cloned() else {
                continue; // erased while it was being delivered
            };
            let change = match result {
                Ok(()) => {
                    report.delivered += 1;
                    attempted(&msg, msg.attempts, Status::Delivered { at: now })
                }
                Err(e) => {
                    let attempts = msg.attempts.saturating_add(1);
                    let retry = (!e.is_permanent())
                        .then(|| self.settings.backoff.retry_at(attempts, now))
                        .flatten();
                    if let Some(due) = retry {
                        report.retried += 1;
                        attempted(
                            &msg,
                            attempts,
                            Status::Pending {
                                due,
                                error: Some(e.message().to_string()),
                            },
                        )
                    } else {
                        report.failed += 1;
                        attempted(
                            &msg,
                            attempts,
                            Status::Failed {
                                at: now,
                                error: e.message().to_string(),
                            },
                        )
                    }
                }
            };
            inner.commit(&[change])?;
        }
        Ok(())
    }

    /// Every subscriber, oldest first.
    pub fn subscribers(&self) -> Vec<Subscriber> {
        self.lock()
            .state
            .subs
            .values()
            .map(Subscriber::of)
            .collect()
    }

    /// One subscriber.
    pub fn subscriber(&self, id: SubscriberId) -> Option<Subscriber> {
        self.lock().state.subs.get(&id).map(Subscriber::of)
    }

    /// Every message queued or sent (until its subscriber is erased), by key.
    pub fn messages(&self) -> Vec<QueuedMessage> {
        self.lock()
            .state
            .messages
            .values()
            .map(|m| QueuedMessage {
                key: m.key.clone(),
                subscriber: m.subscriber,
                kind: m.kind,
                locale: m.locale.clone(),
                subject: m.subject.clone(),
                body: format!("{}\n\n{}", m.text, m.footer),
                sms: m.sms.clone(),
                attempts: m.attempts,
                state: match &m.status {
                    Status::Pending { due, error } => MessageState::Pending {
                        due: *due,
                        last_error: error.clone(),
                    },
                    Status::Delivered { at } => MessageState::Delivered { at: *at },
                    Status::Failed { at, error } => MessageState::Failed {
                        at: *at,
                        error: error.clone(),
                    },
                    Status::Dropped { at } => MessageState::Dropped { at: *at },
                },
            })
            .collect()
    }

    /// Whether the bulletin (or reminder) key was published.
    pub fn is_published(&self, key: &str) -> bool {
        self.lock().state.published.contains(key)
    }

    /// How many subscribers were erased, ever (all that is left of them).
    pub fn erased_count(&self) -> u64 {
        self.lock().state.erased
    }
}

fn attempted(msg: &Msg, attempts: u32, status: Status) -> Change {
    Change(Kind::Attempted {
        key: msg.key.clone(),
        outcome: Outcome { attempts, status },
    })
}

/// The subscriber a token of `use_` names.
fn find(state: &State, token: &str, use_: super::state::TokenUse) -> Result<Sub> {
    let token = Token::parse(token.trim()).ok_or(SubscriberError::UnknownToken)?;
    match state.tokens.get(&token) {
        Some((id, u)) if *u == use_ => state
            .subs
            .get(id)
            .cloned()
            .ok_or(SubscriberError::UnknownToken),
        _ => Err(SubscriberError::UnknownToken),
    }
}

/// Confirmed subscribers (no later than `cutoff`) with a service `wanted` picks.
fn recipients<'s>(
    state: &'s State,
    wanted: impl Fn(&Service) -> bool + 's,
    cutoff: DateTime<Utc>,
) -> impl Iterator<Item = &'s Sub> + 's {
    state.subs.values().filter(move |s| {
        s.state == SubscriberState::Confirmed
            && s.confirmed_at.is_some_and(|at| at <= cutoff)
            && s.services.iter().any(&wanted)
    })
}
