//! The `subscribers` feature: double opt-in, expiry, unsubscribe, erasure (no byte of a
//! contact left in any store's files), fan-out exactly once across restarts and crashes,
//! maintenance reminders, bad input, a torn journal, and a property over random operations.
#![cfg(feature = "subscribers")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::l10n::Catalogs;
use incidents::notify::DeliveryError;
use incidents::subscribers::{
    Bulletin, Change, Contact, FileSubscribers, MemorySubscribers, MessageKind, MessageState,
    Outgoing, Settings, SubscriberError, SubscriberId, SubscriberState, SubscriberStore,
    Subscriptions,
};
use incidents::{
    Actor, Command, Desk, IncidentId, ManualClock, MemoryStore, NewIncident, Role, Service,
    Severity, Source,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap()
}

fn catalogs() -> Arc<Catalogs> {
    static CATALOGS: std::sync::OnceLock<Arc<Catalogs>> = std::sync::OnceLock::new();
    Arc::clone(CATALOGS.get_or_init(|| Arc::new(Catalogs::builder().build().unwrap())))
}

fn settings() -> Settings {
    let mut s = Settings::new(
        "https://shop.example/updates/confirm?t={token}",
        "https://shop.example/updates/stop?t={token}",
    );
    s.zone = chrono_tz::Asia::Jerusalem;
    s
}

fn open<S: SubscriberStore>(store: S) -> Subscriptions<S> {
    Subscriptions::open(store, catalogs(), settings()).unwrap()
}

fn service(name: &str) -> Service {
    Service::new(name).unwrap()
}

/// A notifier that keeps what it was given.
#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<Outgoing>>,
}

impl Outbox {
    fn take(&self) -> Vec<Outgoing> {
        std::mem::take(&mut self.sent.lock().unwrap())
    }
}

impl incidents::subscribers::SubscriberNotifier for Outbox {
    fn deliver(&self, message: &Outgoing) -> Result<(), DeliveryError> {
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// The token in a link of `text` (`…?t=<token>`).
fn token_in(text: &str) -> String {
    let after = text.split("?t=").nth(1).expect("a link");
    after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

/// Subscribes and confirms `contact` to `services` at `now`; returns its id and unsubscribe
/// token.
fn confirmed<S: SubscriberStore>(
    subs: &Subscriptions<S>,
    contact: Contact,
    services: &[&str],
    locale: &str,
    now: DateTime<Utc>,
) -> (SubscriberId, String) {
    let outbox = Outbox::default();
    let s = subs
        .subscribe(contact, services.iter().map(|s| service(s)), locale, now)
        .unwrap();
    subs.dispatch(&outbox, now).unwrap();
    let request = outbox
        .take()
        .into_iter()
        .find(|o| o.subscriber == s.id)
        .unwrap();
    subs.confirm(&token_in(&request.text), now).unwrap();
    (s.id, token_in(&request.unsubscribe_link))
}

// ---------------------------------------------------------------------------------------------
// Opt-in

#[test]
fn confirmation_requests_go_out_in_the_subscribers_language() {
    let subs = open(MemorySubscribers::new());
    let outbox = Outbox::default();
    let he = subs
        .subscribe(
            Contact::email("dana@cafe.example").unwrap(),
            [service("קופות")],
            "he-IL",
            t0(),
        )
        .unwrap();
    let en = subs
        .subscribe(
            Contact::sms("+44 7700 900123").unwrap(),
            [service("shop")],
            "en",
            t0(),
        )
        .unwrap();
    assert_eq!(he.state, SubscriberState::Pending);
    assert_eq!(subs.dispatch(&outbox, t0()).unwrap().delivered, 2);
    let sent = outbox.take();
    let to_dana = sent.iter().find(|o| o.subscriber == he.id).unwrap();
    assert_eq!(to_dana.locale, "he");
    assert!(
        to_dana.subject.starts_with("אישור הרשמה לעדכונים על"),
        "{}",
        to_dana.subject
    );
    assert!(
        to_dana
            .text
            .contains("https://shop.example/updates/confirm?t=")
    );
    assert!(
        to_dana.text.contains("עוד \u{2068}48\u{2069} שעות"),
        "{}",
        to_dana.text
    );
    assert!(to_dana.body.ends_with(&to_dana.footer));
    assert!(to_dana.footer.starts_with("קיבלתם הודעה זו"));
    assert_eq!(to_dana.sms, None);
    let to_sms = sent.iter().find(|o| o.subscriber == en.id).unwrap();
    assert_eq!(to_sms.locale, "en");
    assert!(to_sms.subject.starts_with("Confirm your subscription to"));
    assert!(
        to_sms
            .sms
            .as_deref()
            .unwrap()
            .starts_with("Confirm shop updates: ")
    );
    assert!(to_sms.footer.contains("Unsubscribe: "));

    // Confirming makes the services confirmed; a second click changes nothing.
    let token = token_in(&to_dana.text);
    let at = t0() + Duration::hours(1);
    let s = subs.confirm(&token, at).unwrap();
    assert_eq!(s.state, SubscriberState::Confirmed);
    assert_eq!(s.services, [service("קופות")]);
    assert_eq!(s.confirmed_at, Some(at));
    let again = subs.confirm(&token, at + Duration::hours(100)).unwrap();
    assert_eq!(again, s);
    // An unsubscribe token is no confirmation token.
    assert!(matches!(
        subs.confirm(&token_in(&to_dana.unsubscribe_link), at),
        Err(SubscriberError::UnknownToken)
    ));
}

#[test]
fn subscribing_again_never_makes_a_second_subscriber() {
    let subs = open(MemorySubscribers::new());
    let outbox = Outbox::default();
    let dana = || Contact::email("dana@cafe.example").unwrap();
    let first = subs
        .subscribe(dana(), [service("shop")], "en", t0())
        .unwrap();
    subs.dispatch(&outbox, t0()).unwrap();
    let old = token_in(&outbox.take()[0].text);
    // Pending: a fresh link for both services; the old link stops working.
    let second = subs
        .subscribe(dana(), [service("POS")], "he", t0())
        .unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(subs.subscribers().len(), 1);
    assert!(matches!(
        subs.confirm(&old, t0()),
        Err(SubscriberError::UnknownToken)
    ));
    subs.dispatch(&outbox, t0()).unwrap();
    let fresh = outbox.take();
    assert_eq!(
        fresh.len(),
        1,
        "the first request was dropped, the second sent"
    );
    assert_eq!(fresh[0].locale, "he");
    let s = subs.confirm(&token_in(&fresh[0].text), t0()).unwrap();
    assert_eq!(s.services, [service("POS"), service("shop")]);
    // Confirmed, asking for what it has: nothing to confirm.
    let third = subs
        .subscribe(dana(), [service("POS")], "he", t0())
        .unwrap();
    assert_eq!(third.confirmation, None);
    // Confirmed, asking for more: the new service waits for its own confirmation.
    let fourth = subs
        .subscribe(dana(), [service("CRM")], "he", t0())
        .unwrap();
    assert!(fourth.confirmation.is_some());
    let s = subs.subscriber(first.id).unwrap();
    assert_eq!(s.state, SubscriberState::Confirmed);
    assert_eq!(s.pending_services, [service("CRM")]);
    assert_eq!(s.services.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Expiry

#[test]
fn a_link_expires_at_its_exact_instant() {
    let subs = open(MemorySubscribers::new());
    let outbox = Outbox::default();
    let a = subs
        .subscribe(
            Contact::email("a@shop.example").unwrap(),
            [service("shop")],
            "en",
            t0(),
        )
        .unwrap();
    let b = subs
        .subscribe(
            Contact::email("b@shop.example").unwrap(),
            [service("shop")],
            "en",
            t0(),
        )
        .unwrap();
    subs.dispatch(&outbox, t0()).unwrap();
    let sent = outbox.take();
    let token = |id| token_in(&sent.iter().find(|o| o.subscriber == id).unwrap().text);
    let expires = t0() + Duration::hours(48);
    assert_eq!(subs.subscriber(a.id).unwrap().confirm_expires, expires);
    // One nanosecond before: confirmed.
    subs.confirm(&token(a.id), expires - Duration::nanoseconds(1))
        .unwrap();
    // At the instant: expired, and it stays pending.
    match subs.confirm(&token(b.id), expires) {
        Err(SubscriberError::Expired { expired }) => assert_eq!(expired, expires),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        subs.subscriber(b.id).unwrap().state,
        SubscriberState::Pending
    );
    assert!(subs.subscriber(b.id).unwrap().services.is_empty());
    // Subscribing again sends a new link, which works.
    let later = expires + Duration::hours(1);
    subs.subscribe(
        Contact::email("b@shop.example").unwrap(),
        [service("shop")],
        "en",
        later,
    )
    .unwrap();
    subs.dispatch(&outbox, later).unwrap();
    let fresh = outbox.take();
    assert_eq!(fresh.len(), 1);
    assert!(matches!(
        subs.confirm(&token(b.id), later),
        Err(SubscriberError::UnknownToken)
    ));
    let s = subs.confirm(&token_in(&fresh[0].text), later).unwrap();
    assert_eq!(s.state, SubscriberState::Confirmed);
}

#[test]
fn unconfirmed_contacts_are_purged_once_their_link_expired() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("subscribers");
    let subs = open(FileSubscribers::open(&journal).unwrap());
    let outbox = Outbox::default();
    let never = subs
        .subscribe(
            Contact::email("never-confirmed@shop.example").unwrap(),
            [service("shop")],
            "en",
            t0(),
        )
        .unwrap();
    let (kept, _) = confirmed(
        &subs,
        Contact::email("kept@shop.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    subs.dispatch(&outbox, t0()).unwrap();
    let expires = t0() + Duration::hours(48);
    // Not yet: the link still works a nanosecond before it expires.
    assert!(
        subs.purge_unconfirmed(expires - Duration::nanoseconds(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(subs.purge_unconfirmed(expires).unwrap(), vec![never.id]);
    assert!(subs.subscriber(never.id).is_none());
    assert_eq!(
        subs.subscriber(kept).unwrap().state,
        SubscriberState::Confirmed
    );
    assert!(
        subs.purge_unconfirmed(expires + Duration::days(30))
            .unwrap()
            .is_empty()
    );
    drop(subs);
    assert!(!contains(
        &all_bytes(dir.path()),
        "never-confirmed@shop.example"
    ));
    assert!(contains(&all_bytes(dir.path()), "kept@shop.example"));
}

#[test]
fn an_expired_request_not_yet_sent_is_dropped() {
    let subs = open(MemorySubscribers::new());
    let outbox = Outbox::default();
    subs.subscribe(
        Contact::email("a@shop.example").unwrap(),
        [service("shop")],
        "en",
        t0(),
    )
    .unwrap();
    let report = subs.dispatch(&outbox, t0() + Duration::hours(48)).unwrap();
    assert_eq!((report.delivered, report.dropped), (0, 1));
    assert!(outbox.take().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Unsubscribe

fn update(n: usize, service_name: &str, at: DateTime<Utc>) -> Bulletin {
    Bulletin::customer_update(
        IncidentId::from_bytes([7; 16]),
        n,
        service(service_name),
        "Card payments work again.",
        at,
    )
    .unwrap()
}

#[test]
fn after_unsubscribing_nothing_is_sent() {
    let subs = open(MemorySubscribers::new());
    let outbox = Outbox::default();
    let (dana, stop) = confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    let (other, _) = confirmed(
        &subs,
        Contact::email("eli@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    let at = t0() + Duration::minutes(10);
    assert_eq!(subs.publish(&update(0, "shop", at), at).unwrap().queued, 2);
    // Unsubscribed before the dispatch: her queued update is dropped.
    assert_eq!(subs.unsubscribe(&stop, at).unwrap(), dana);
    let report = subs.dispatch(&outbox, at).unwrap();
    assert_eq!(report.delivered, 1);
    assert!(outbox.take().iter().all(|o| o.subscriber == other));
    let dropped: Vec<_> = subs
        .messages()
        .into_iter()
        .filter(|m| m.subscriber == dana && m.kind == MessageKind::Bulletin)
        .collect();
    assert_eq!(dropped.len(), 1);
    assert!(matches!(dropped[0].state, MessageState::Dropped { .. }));
    // A later bulletin is not queued for her at all.
    assert_eq!(subs.publish(&update(1, "shop", at), at).unwrap().queued, 1);
    subs.dispatch(&outbox, at).unwrap();
    assert!(outbox.take().iter().all(|o| o.subscriber == other));
    // Again: a no-op. A stranger's token: a typed error.
    assert_eq!(subs.unsubscribe(&stop, at).unwrap(), dana);
    assert!(matches!(
        subs.unsubscribe(&"A".repeat(24), at),
        Err(SubscriberError::UnknownToken)
    ));
    assert!(matches!(
        subs.unsubscribe("../etc", at),
        Err(SubscriberError::UnknownToken)
    ));
    let s = subs.subscriber(dana).unwrap();
    assert_eq!(s.state, SubscriberState::Unsubscribed);
    assert!(s.services.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Erasure

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A desk on `store`: an incident on `shop` with one customer update.
fn desk_with_update<S: incidents::store::Store>(store: S) -> Desk<S, ManualClock> {
    let clock = ManualClock::new(t0() + Duration::minutes(20));
    let desk = Desk::new(store, clock).unwrap();
    let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
    let id = desk
        .open(
            &dana,
            NewIncident::new(
                "Till 2 rejects cards",
                Severity::High,
                "shop",
                Source::CustomerReport,
            )
            .unwrap(),
        )
        .unwrap()
        .id;
    desk.act(
        id,
        &dana,
        Command::customer_update("Card payments are failing; we are on it.").unwrap(),
    )
    .unwrap();
    desk
}

#[test]
fn erasure_leaves_no_byte_of_the_contact_in_any_store() {
    let root = tempfile::tempdir().unwrap();
    let subs_dir = root.path().join("subscribers");
    let file_dir = root.path().join("incidents");
    let email = "dana.erase-me@cafe.example";
    let phone = "+972501234567";
    let subs = open(FileSubscribers::open(&subs_dir).unwrap());
    let outbox = Outbox::default();
    let (by_mail, stop_mail) =
        confirmed(&subs, Contact::email(email).unwrap(), &["shop"], "he", t0());
    let (_, stop_phone) = confirmed(&subs, Contact::sms(phone).unwrap(), &["shop"], "en", t0());
    let (kept, _) = confirmed(
        &subs,
        Contact::email("stays@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    let mut secrets = vec![email.to_string(), phone.to_string(), stop_mail, stop_phone];
    for m in subs.messages() {
        if m.kind == MessageKind::Confirmation && m.subscriber != kept {
            secrets.push(token_in(&m.body));
        }
    }

    // The desks of the same run, a FileStore and (with `sqlite`) a SQLite database.
    let file_desk = desk_with_update(incidents::store::FileStore::open(&file_dir).unwrap());
    assert_eq!(
        subs.sync(&file_desk, t0() + Duration::minutes(21))
            .unwrap()
            .queued,
        3
    );
    #[cfg(feature = "sqlite")]
    let sqlite_dir = root.path().join("sqlite");
    #[cfg(feature = "sqlite")]
    {
        std::fs::create_dir_all(&sqlite_dir).unwrap();
        let db = incidents::store::SqliteStore::open(sqlite_dir.join("desk.db")).unwrap();
        let sqlite_desk = desk_with_update(db);
        // Another incident id: three more messages.
        assert_eq!(
            subs.sync(&sqlite_desk, t0() + Duration::minutes(21))
                .unwrap()
                .queued,
            3
        );
    }
    subs.dispatch(&outbox, t0() + Duration::minutes(21))
        .unwrap();
    let sent = outbox.take();
    assert!(
        sent.iter()
            .any(|o| o.contact.address() == phone && o.sms.is_some())
    );
    assert!(
        contains(&all_bytes(&subs_dir), email),
        "the journal holds the contact before"
    );

    let erased = subs.erase(by_mail).unwrap();
    assert!(erased.messages >= 2);
    let by_phone = subs.erase_contact(&Contact::sms(phone).unwrap()).unwrap();
    assert!(subs.subscriber(by_mail).is_none() && subs.subscriber(by_phone.id).is_none());
    assert!(matches!(
        subs.erase(by_mail),
        Err(SubscriberError::NotFound)
    ));
    assert_eq!(subs.erased_count(), 2);
    drop(file_desk);

    let mut everything = all_bytes(&subs_dir);
    everything.extend(all_bytes(&file_dir));
    #[cfg(feature = "sqlite")]
    everything.extend(all_bytes(&sqlite_dir));
    for secret in &secrets {
        assert!(!contains(&everything, secret), "{secret} left behind");
    }
    // What remains: the other subscriber, the count, the published keys.
    drop(subs);
    let subs = open(FileSubscribers::open(&subs_dir).unwrap());
    assert_eq!(subs.subscribers().len(), 1);
    assert_eq!(subs.subscribers()[0].id, kept);
    assert_eq!(subs.erased_count(), 2);
}

/// A store that fails appends while `fail` is set (a crash before the write is durable),
/// and compactions while `fail_compact` is.
struct Flaky<S> {
    inner: S,
    fail: Arc<AtomicBool>,
    fail_compact: Arc<AtomicBool>,
}

impl<S: SubscriberStore> SubscriberStore for Flaky<S> {
    fn load(&mut self) -> Result<Vec<Change>, SubscriberError> {
        self.inner.load()
    }
    fn append(&mut self, changes: &[Change]) -> Result<(), SubscriberError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(SubscriberError::Poisoned);
        }
        self.inner.append(changes)
    }
    fn compact(&mut self, snapshot: &[Change]) -> Result<(), SubscriberError> {
        if self.fail.load(Ordering::SeqCst) || self.fail_compact.load(Ordering::SeqCst) {
            return Err(SubscriberError::Poisoned);
        }
        self.inner.compact(snapshot)
    }
}

#[test]
fn an_erasure_whose_compaction_failed_is_finished_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let fail_compact = Arc::new(AtomicBool::new(false));
    let email = "half-erased@cafe.example";
    let subs = open(Flaky {
        inner: FileSubscribers::open(dir.path()).unwrap(),
        fail: Arc::new(AtomicBool::new(false)),
        fail_compact: Arc::clone(&fail_compact),
    });
    let (id, _) = confirmed(&subs, Contact::email(email).unwrap(), &["shop"], "en", t0());
    fail_compact.store(true, Ordering::SeqCst);
    // The tombstone is durable, the compaction fails: an error, and the subscriber is gone
    // from memory, but its bytes are still in the journal.
    assert!(subs.erase(id).is_err());
    assert!(subs.subscriber(id).is_none());
    drop(subs);
    assert!(contains(&all_bytes(dir.path()), email));
    // The next open finds the tombstone and compacts.
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    assert!(subs.subscriber(id).is_none());
    assert_eq!(subs.erased_count(), 1);
    drop(subs);
    assert!(!contains(&all_bytes(dir.path()), email));
}

// ---------------------------------------------------------------------------------------------
// Exactly once

#[test]
fn each_sync_publishes_only_the_updates_posted_since() {
    let desk = desk_with_update(MemoryStore::new());
    let subs = open(MemorySubscribers::new());
    confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    let now = t0() + Duration::minutes(30);
    assert_eq!(subs.sync(&desk, now).unwrap().bulletins, 1);
    let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
    let id = desk.list(&incidents::Filter::all())[0].id();
    for text in ["Still on it.", "Fixed: cards work again."] {
        desk.act(id, &dana, Command::customer_update(text).unwrap())
            .unwrap();
    }
    let synced = subs.sync(&desk, now).unwrap();
    assert_eq!((synced.bulletins, synced.queued), (2, 2));
    assert!(subs.is_published(&format!("{id}/customer_update_posted/2")));
    assert_eq!(subs.sync(&desk, now).unwrap(), Default::default());
    let outbox = Outbox::default();
    subs.dispatch(&outbox, now).unwrap();
    let texts: Vec<String> = outbox.take().into_iter().map(|o| o.text).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
}

#[test]
fn fan_out_is_exactly_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk_with_update(MemoryStore::new());
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    let (dana, _) = confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["shop"],
        "he",
        t0(),
    );
    let now = t0() + Duration::minutes(30);
    let synced = subs.sync(&desk, now).unwrap();
    assert_eq!((synced.bulletins, synced.queued), (1, 1));
    let key = format!(
        "{}/customer_update_posted/0",
        desk.list(&incidents::Filter::all())[0].id()
    );
    assert!(subs.is_published(&key));
    // Restart: drop everything, reopen the journal, publish and sync again.
    drop(subs);
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    assert_eq!(subs.sync(&desk, now).unwrap(), Default::default());
    let again = Bulletin::customer_update(
        desk.list(&incidents::Filter::all())[0].id(),
        0,
        service("shop"),
        "Card payments are failing; we are on it.",
        t0() + Duration::minutes(20),
    )
    .unwrap();
    let published = subs.publish(&again, now).unwrap();
    assert!(published.already);
    assert_eq!(published.queued, 0);
    let outbox = Outbox::default();
    assert_eq!(subs.dispatch(&outbox, now).unwrap().delivered, 1);
    let sent = outbox.take();
    assert_eq!(sent[0].key, format!("{key}/{dana}"));
    assert!(sent[0].text.contains("Card payments are failing"));
    drop(subs);
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    assert_eq!(
        subs.dispatch(&outbox, now + Duration::hours(1)).unwrap(),
        Default::default()
    );
    assert!(outbox.take().is_empty());
    assert_eq!(subs.next_deadline(), None);
}

#[test]
fn old_updates_do_not_go_to_new_subscribers() {
    let desk = desk_with_update(MemoryStore::new()); // posted at t0 + 20 min
    let subs = open(MemorySubscribers::new());
    confirmed(
        &subs,
        Contact::email("late@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0() + Duration::hours(1),
    );
    let synced = subs.sync(&desk, t0() + Duration::hours(2)).unwrap();
    assert_eq!((synced.bulletins, synced.queued), (1, 0));
}

#[test]
fn a_crash_between_delivery_and_its_record_delivers_again_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let subs = open(Flaky {
        inner: FileSubscribers::open(dir.path()).unwrap(),
        fail: Arc::clone(&fail),
        fail_compact: Arc::new(AtomicBool::new(false)),
    });
    confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    let now = t0() + Duration::minutes(10);
    assert_eq!(
        subs.publish(&update(0, "shop", now), now).unwrap().queued,
        1
    );
    // The notifier delivers, then the "process dies" before the outcome is durable.
    let seen: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let dying = |o: &Outgoing| {
        seen.lock().unwrap().push(o.key.clone());
        fail.store(true, Ordering::SeqCst);
        Ok(())
    };
    assert!(subs.dispatch(&dying, now).is_err());
    drop(subs);
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    let outbox = Outbox::default();
    assert_eq!(subs.dispatch(&outbox, now).unwrap().delivered, 1);
    let again = outbox.take();
    let first = seen.lock().unwrap().clone();
    assert_eq!(first.len(), 1);
    assert_eq!(again[0].key, first[0]);
    // Queued once: one message with that key, now delivered; nothing more to send.
    let with_key: Vec<_> = subs
        .messages()
        .into_iter()
        .filter(|m| m.key == first[0])
        .collect();
    assert_eq!(with_key.len(), 1);
    assert!(matches!(with_key[0].state, MessageState::Delivered { .. }));
    assert_eq!(
        subs.dispatch(&outbox, now + Duration::days(1)).unwrap(),
        Default::default()
    );
}

#[test]
fn transient_failures_retry_on_the_backoff_and_permanent_ones_give_up() {
    let subs = open(MemorySubscribers::new());
    confirmed(
        &subs,
        Contact::email("a@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    confirmed(
        &subs,
        Contact::webhook("https://hooks.example/x").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    subs.publish(&update(0, "shop", t0()), t0()).unwrap();
    let failing = |o: &Outgoing| match o.contact {
        Contact::Webhook(_) => Err(DeliveryError::permanent("410 gone")),
        _ => Err(DeliveryError::new("timeout")),
    };
    let r = subs.dispatch(&failing, t0()).unwrap();
    assert_eq!((r.delivered, r.retried, r.failed), (0, 1, 1));
    assert_eq!(subs.next_deadline(), Some(t0() + Duration::seconds(30)));
    // Nothing before the retry is due.
    assert_eq!(
        subs.dispatch(&failing, t0() + Duration::seconds(29))
            .unwrap(),
        Default::default()
    );
    let outbox = Outbox::default();
    assert_eq!(
        subs.dispatch(&outbox, t0() + Duration::seconds(30))
            .unwrap()
            .delivered,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Maintenance

#[test]
fn maintenance_is_announced_and_reminded_at_its_exact_instant() {
    let dir = tempfile::tempdir().unwrap();
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    let (he, _) = confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["קופות"],
        "he",
        t0(),
    );
    let (en, _) = confirmed(
        &subs,
        Contact::email("eli@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    confirmed(
        &subs,
        Contact::email("crm@cafe.example").unwrap(),
        &["CRM"],
        "en",
        t0(),
    );
    let starts = Utc.with_ymd_and_hms(2026, 12, 6, 22, 0, 0).unwrap();
    let night = Bulletin::maintenance(
        "tills-2026-12",
        [service("קופות"), service("shop")],
        "עדכון מסופי האשראי",
        starts,
        starts + Duration::hours(2),
    )
    .unwrap();
    assert_eq!(subs.publish(&night, t0()).unwrap().queued, 2);
    let outbox = Outbox::default();
    assert_eq!(subs.dispatch(&outbox, t0()).unwrap().delivered, 2);
    let sent = outbox.take();
    let to_he = sent.iter().find(|o| o.subscriber == he).unwrap();
    assert_eq!(to_he.key, format!("maintenance/tills-2026-12/{he}"));
    assert!(
        to_he.subject.starts_with("תחזוקה מתוכננת ב־"),
        "{}",
        to_he.subject
    );
    assert!(
        to_he.text.contains("\u{2068}7 בדצמ׳ 2026, 0:00\u{2069}"),
        "{}",
        to_he.text
    );
    let to_en = sent.iter().find(|o| o.subscriber == en).unwrap();
    assert!(
        to_en.subject.starts_with("Scheduled maintenance on"),
        "{}",
        to_en.subject
    );

    // The reminder falls due exactly one hour before it starts, once.
    let due = starts - Duration::hours(1);
    assert_eq!(subs.next_deadline(), Some(due));
    drop(subs);
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    assert_eq!(subs.publish(&night, t0()).unwrap().queued, 0);
    let before = subs
        .dispatch(&outbox, due - Duration::nanoseconds(1))
        .unwrap();
    assert_eq!(before, Default::default());
    let at = subs.dispatch(&outbox, due).unwrap();
    assert_eq!((at.reminders, at.delivered), (1, 2));
    let reminders = outbox.take();
    let to_he = reminders.iter().find(|o| o.subscriber == he).unwrap();
    assert_eq!(
        to_he.key,
        format!("maintenance/tills-2026-12/reminder/{he}")
    );
    assert!(
        to_he.subject.contains("\u{2068}60\u{2069} דקות"),
        "{}",
        to_he.subject
    );
    let to_en = reminders.iter().find(|o| o.subscriber == en).unwrap();
    assert!(
        to_en
            .subject
            .ends_with("starts in \u{2068}60\u{2069} minutes"),
        "{}",
        to_en.subject
    );
    assert_eq!(
        subs.dispatch(&outbox, due + Duration::hours(5)).unwrap(),
        Default::default()
    );
    assert_eq!(subs.next_deadline(), None);
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_input_is_a_typed_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    let journal = dir.path().join("subscribers.jsonl");
    let size = || std::fs::metadata(&journal).unwrap().len();
    let before = size();
    for bad in [
        "",
        "dana",
        "a@@b.example",
        "a b@c.example",
        "a@b..example",
        "a@",
        "@b.example",
        "a\u{7}@b.example",
        "a@b.example.",
    ] {
        assert!(Contact::email(bad).is_err(), "{bad:?}");
    }
    // Surrounding spaces are trimmed; the domain is kept in lower case.
    let trimmed = Contact::email(" Dana@Cafe.Example\n").unwrap();
    assert_eq!(trimmed.address(), "Dana@cafe.example");
    assert!(Contact::email(&format!("{}@b.example", "a".repeat(65))).is_err());
    for bad in ["050-123-4567", "+0 123 4567", "+972 50 abc", "+1 2"] {
        assert!(Contact::sms(bad).is_err(), "{bad:?}");
    }
    for bad in [
        "hooks.example",
        "ftp://x.example",
        "https://",
        "https://a b.example",
        "javascript:alert(1)",
    ] {
        assert!(Contact::webhook(bad).is_err(), "{bad:?}");
    }
    let dana = Contact::email("dana@cafe.example").unwrap();
    assert!(matches!(
        subs.subscribe(dana.clone(), [service("shop")], "not a locale!", t0()),
        Err(SubscriberError::Invalid(_))
    ));
    assert!(matches!(
        subs.subscribe(dana.clone(), Vec::<Service>::new(), "en", t0()),
        Err(SubscriberError::Invalid(_))
    ));
    for token in ["", "x", &"A".repeat(24), &"=".repeat(24), "' OR 1=1 --"] {
        assert!(matches!(
            subs.confirm(token, t0()),
            Err(SubscriberError::UnknownToken)
        ));
        assert!(matches!(
            subs.unsubscribe(token, t0()),
            Err(SubscriberError::UnknownToken)
        ));
    }
    assert!(matches!(
        subs.erase(SubscriberId::new(t0())),
        Err(SubscriberError::NotFound)
    ));
    assert!(matches!(
        subs.erase_contact(&dana),
        Err(SubscriberError::NotFound)
    ));
    assert!(subs.subscribers().is_empty() && subs.messages().is_empty());
    assert_eq!(size(), before);
    // Bulletins and settings are checked too.
    assert!(Bulletin::maintenance("x", [service("shop")], "w", t0(), t0()).is_err());
    assert!(
        Bulletin::maintenance(
            "a/b",
            [service("shop")],
            "w",
            t0(),
            t0() + Duration::hours(1)
        )
        .is_err()
    );
    assert!(
        Bulletin::maintenance(
            "x",
            Vec::<Service>::new(),
            "w",
            t0(),
            t0() + Duration::hours(1)
        )
        .is_err()
    );
    assert!(
        Bulletin::customer_update(
            IncidentId::from_bytes([1; 16]),
            0,
            service("shop"),
            "  ",
            t0()
        )
        .is_err()
    );
    let mut no_token = settings();
    no_token.confirm_link = "https://shop.example/confirm".into();
    assert!(matches!(
        Subscriptions::open(MemorySubscribers::new(), catalogs(), no_token),
        Err(SubscriberError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// The journal

#[test]
fn a_torn_tail_is_cut_and_reported_and_damage_before_it_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("subscribers.jsonl");
    let subs = open(FileSubscribers::open(dir.path()).unwrap());
    let (id, _) = confirmed(
        &subs,
        Contact::email("dana@cafe.example").unwrap(),
        &["shop"],
        "en",
        t0(),
    );
    drop(subs);
    let good = std::fs::read(&journal).unwrap();
    // A crash mid-write: half a line, no newline.
    let mut torn = good.clone();
    torn.extend_from_slice(b"0badc0de {\"schema\":1,\"changes\":[{\"type\":\"pub");
    std::fs::write(&journal, &torn).unwrap();
    let store = FileSubscribers::open(dir.path()).unwrap();
    assert_eq!(
        store.report().torn_tail,
        Some((torn.len() - good.len()) as u64)
    );
    assert_eq!(std::fs::read(&journal).unwrap(), good);
    let subs = open(store);
    assert_eq!(
        subs.subscriber(id).unwrap().state,
        SubscriberState::Confirmed
    );
    drop(subs);
    // A flipped byte in the last line: a damaged tail, cut and reported.
    let mut damaged = good.clone();
    let last_start = good[..good.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    damaged[last_start + 20] ^= 0x01;
    std::fs::write(&journal, &damaged).unwrap();
    let store = FileSubscribers::open(dir.path()).unwrap();
    assert_eq!(
        store.report().damaged_tail,
        Some((good.len() - last_start) as u64)
    );
    assert_eq!(std::fs::read(&journal).unwrap(), &good[..last_start]);
    drop(store);
    std::fs::write(&journal, &good).unwrap();
    // A flipped byte in the first line: corrupt, naming line 1; the file is left alone.
    let mut bad = good.clone();
    bad[20] ^= 0x01;
    std::fs::write(&journal, &bad).unwrap();
    match FileSubscribers::open(dir.path()) {
        Err(SubscriberError::Corrupt { line, .. }) => assert_eq!(line, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&journal).unwrap(), bad);
    // A line of another schema is refused, not misread.
    let json = r#"{"schema":9,"changes":[]}"#;
    let line = format!("{:08x} {json}\n", crc32fast_hash(json.as_bytes()));
    std::fs::write(&journal, line).unwrap();
    let err = FileSubscribers::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("schema 9"), "{err}");
}

/// CRC-32 (IEEE), bit by bit, so the test does not depend on the crate's choice of library.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = FileSubscribers::open(dir.path()).unwrap();
    assert!(matches!(
        FileSubscribers::open(dir.path()),
        Err(SubscriberError::Locked { .. })
    ));
}

#[test]
fn subscriptions_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Subscriptions<FileSubscribers>>();
    check::<Subscriptions<MemorySubscribers>>();
}

// ---------------------------------------------------------------------------------------------
// Property: exactly once, never to the unsubscribed or erased.

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Subscribe { who: usize, service: usize },
        Confirm { who: usize },
        Unsubscribe { who: usize },
        Erase { who: usize },
        Publish { bulletin: usize, service: usize },
        Dispatch { fail: bool },
        Restart,
        Advance { minutes: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..4usize, 0..2usize).prop_map(|(who, service)| Op::Subscribe { who, service }),
            (0..4usize).prop_map(|who| Op::Confirm { who }),
            (0..4usize).prop_map(|who| Op::Unsubscribe { who }),
            (0..4usize).prop_map(|who| Op::Erase { who }),
            (0..4usize, 0..2usize)
                .prop_map(|(bulletin, service)| Op::Publish { bulletin, service }),
            any::<bool>().prop_map(|fail| Op::Dispatch { fail }),
            Just(Op::Restart),
            (0..120i64).prop_map(|minutes| Op::Advance { minutes }),
        ]
    }

    const SERVICES: [&str; 2] = ["shop", "POS"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn each_pair_is_queued_once_and_nobody_gone_is_contacted(ops in prop::collection::vec(op(), 1..40)) {
            let mut subs = Some(open(MemorySubscribers::new()));
            let mut now = t0();
            // The model: tokens seen in requests, who left, what was delivered.
            let mut confirm_tokens: HashMap<usize, String> = HashMap::new();
            let mut stop_tokens: HashMap<usize, String> = HashMap::new();
            let mut ids: HashMap<usize, SubscriberId> = HashMap::new();
            let mut gone: BTreeSet<SubscriberId> = BTreeSet::new();
            let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
            let mut published: BTreeSet<usize> = BTreeSet::new();
            for op in ops {
                let s = subs.as_ref().unwrap();
                match op {
                    Op::Subscribe { who, service } => {
                        let contact = Contact::email(&format!("p{who}@cafe.example")).unwrap();
                        let r = s.subscribe(contact, [super::service(SERVICES[service])], "he", now).unwrap();
                        ids.insert(who, r.id);
                        gone.remove(&r.id);
                    }
                    Op::Confirm { who } => {
                        if let Some(t) = confirm_tokens.get(&who) {
                            let _ = s.confirm(t, now);
                        }
                    }
                    Op::Unsubscribe { who } => {
                        if let Some(t) = stop_tokens.get(&who)
                            && let Ok(id) = s.unsubscribe(t, now)
                        {
                            gone.insert(id);
                        }
                    }
                    Op::Erase { who } => {
                        if let Some(id) = ids.get(&who)
                            && s.erase(*id).is_ok()
                        {
                            gone.insert(*id);
                        }
                    }
                    Op::Publish { bulletin, service } => {
                        let b = Bulletin::customer_update(
                            IncidentId::from_bytes([9; 16]),
                            bulletin,
                            super::service(SERVICES[service]),
                            "עדכון",
                            now,
                        )
                        .unwrap();
                        let r = s.publish(&b, now).unwrap();
                        // Once per key, whatever the service given the second time.
                        prop_assert_eq!(r.already, published.contains(&bulletin));
                        published.insert(bulletin);
                    }
                    Op::Dispatch { fail } => {
                        let gone_now = gone.clone();
                        let seen: Mutex<Vec<Outgoing>> = Mutex::new(Vec::new());
                        let notifier = |o: &Outgoing| {
                            seen.lock().unwrap().push(o.clone());
                            if fail { Err(DeliveryError::new("busy")) } else { Ok(()) }
                        };
                        s.dispatch(&notifier, now).unwrap();
                        for o in seen.into_inner().unwrap() {
                            prop_assert!(!gone_now.contains(&o.subscriber), "sent to someone gone: {}", o.key);
                            let who = ids.iter().find(|(_, id)| **id == o.subscriber).map(|(w, _)| *w);
                            if let Some(who) = who {
                                if o.key.starts_with("confirm/") {
                                    confirm_tokens.insert(who, token_in(&o.text));
                                }
                                stop_tokens.insert(who, token_in(&o.unsubscribe_link));
                            }
                            if !fail && !o.key.starts_with("confirm/") {
                                *delivered.entry(o.key.clone()).or_default() += 1;
                            }
                        }
                    }
                    Op::Restart => {
                        let store = subs.take().unwrap().into_store();
                        subs = Some(open(store));
                    }
                    Op::Advance { minutes } => now += Duration::minutes(minutes),
                }
                // Every (bulletin, subscriber) pair is queued at most once: keys are unique
                // and name the pair; none was delivered twice.
                let s = subs.as_ref().unwrap();
                let keys: Vec<String> = s.messages().into_iter().map(|m| m.key).collect();
                let unique: BTreeSet<&String> = keys.iter().collect();
                prop_assert_eq!(unique.len(), keys.len());
                prop_assert!(delivered.values().all(|&n| n == 1), "{:?}", delivered);
                // Nothing is queued for an erased subscriber.
                for m in s.messages() {
                    prop_assert!(s.subscriber(m.subscriber).is_some());
                }
            }
        }
    }
}
