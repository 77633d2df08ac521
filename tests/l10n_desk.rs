//! The desk's notifications rendered from catalogs in each recipient's language, and what
//! the stored events keep of them.
#![cfg(feature = "l10n")]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::l10n::{Catalogs, sms_segments};
use incidents::lifecycle::{Audience, Notification, Timer};
use incidents::policy::{Chain, Languages, PolicyError, Recipient, Rounds, Step, Targets};
use incidents::{
    Actor, Calendar, Clock, Command, Desk, FileStore, IncidentId, ManualClock, MemoryStore,
    NewIncident, Policy, Role, Severity, Source, Store,
};

/// Sunday 2026-12-06 09:00 in Jerusalem (07:00 UTC).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 7, 0, 0).unwrap()
}

fn dana() -> Actor {
    Actor::new("dana", "Dana", Role::Owner).unwrap()
}

/// Critical incidents page the owner at once, then avi, dana and the `ops` channel together
/// after 5 minutes.
fn policy(languages: Languages) -> Policy {
    let chain = Chain {
        steps: vec![
            Step {
                after: Duration::zero(),
                notify: vec![Recipient::IncidentOwner],
                channel: Some("sms".into()),
            },
            Step {
                after: Duration::minutes(5),
                notify: vec![
                    Recipient::Person("avi".into()),
                    Recipient::Person("dana".into()),
                    Recipient::Channel("ops".into()),
                    Recipient::Role(Role::Responder),
                ],
                channel: None,
            },
        ],
        rounds: Rounds::Once,
        repeat_from: 0,
        repeat_pause: Duration::minutes(15),
        outside_hours: Default::default(),
    };
    let targets = Targets {
        acknowledge: Some(Duration::minutes(30)),
        escalation: Some(chain),
        ..Targets::none()
    };
    let calendar = Calendar::always_open_in(chrono_tz::Asia::Jerusalem);
    Policy::new(calendar, [(Severity::Critical, targets)].into())
        .unwrap()
        .with_languages(languages)
        .unwrap()
}

/// A notifier that takes everything.
struct Accept;

impl incidents::Notifier for Accept {
    fn deliver(&self, _: &Notification) -> Result<(), incidents::notify::DeliveryError> {
        Ok(())
    }
}

fn catalogs() -> Arc<Catalogs> {
    Arc::new(Catalogs::builder().build().unwrap())
}

fn desk<S: Store>(store: S, clock: &ManualClock, languages: Languages) -> Desk<S, &ManualClock> {
    Desk::builder(store, clock)
        .policy(policy(languages))
        .catalogs(catalogs())
        .build()
        .unwrap()
}

fn open<S: Store>(desk: &Desk<S, &ManualClock>) -> IncidentId {
    let new = NewIncident::new(
        "הקופה השנייה לא מקבלת אשראי",
        Severity::Critical,
        "קופות",
        Source::StaffReport,
    )
    .unwrap();
    let id = desk.open(&dana(), new).unwrap().id;
    desk.act(id, &dana(), Command::AssignOwner { owner: dana() })
        .unwrap();
    id
}

fn requested<S: Store>(desk: &Desk<S, &ManualClock>, id: IncidentId) -> Vec<Notification> {
    desk.get(id)
        .unwrap()
        .outbox()
        .iter()
        .map(|e| e.notification.clone())
        .collect()
}

#[test]
fn each_recipient_reads_their_own_language_and_a_mixed_step_splits_by_language() {
    let clock = ManualClock::new(start());
    let languages = Languages::shop("he")
        .person("avi", "en")
        .channel("ops", "ru");
    let desk = desk(MemoryStore::new(), &clock, languages);
    let id = open(&desk);
    desk.tick(start()).unwrap();
    clock.set(start() + Duration::minutes(5));
    desk.tick(clock.now()).unwrap();
    let sent = requested(&desk, id);
    let keys: Vec<String> = sent.iter().map(|n| n.key.clone()).collect();
    assert_eq!(
        keys,
        [
            format!("{id}/escalation/0/0/0"),
            format!("{id}/escalation/0/0/1/en"),
            format!("{id}/escalation/0/0/1/he"),
            format!("{id}/escalation/0/0/1/ru"),
        ]
    );

    // Step 1: the owner, Dana, reads the shop's Hebrew; the step's SMS hint is kept and the
    // SMS fits one segment.
    let page = &sent[0];
    assert_eq!(
        page.audience,
        Audience::Recipients(vec![Recipient::IncidentOwner])
    );
    assert_eq!(page.locale.as_deref(), Some("he"));
    assert_eq!(page.channel.as_deref(), Some("sms"));
    assert!(
        page.subject
            .contains("\u{2068}הקופה השנייה לא מקבלת אשראי\u{2069}")
    );
    let sms = page.sms.as_deref().unwrap();
    assert_eq!(sms_segments(sms).segments, 1, "{sms}");

    // Step 2: avi in English; dana and every responder (roles read the shop's language) in
    // Hebrew; the ops channel asked for Russian, which has no catalog: English was sent, and
    // the notification says so.
    let by_key = |suffix: &str| {
        sent.iter()
            .find(|n| n.key.ends_with(suffix))
            .unwrap()
            .clone()
    };
    let en = by_key("/en");
    assert_eq!(
        en.audience,
        Audience::Recipients(vec![Recipient::Person("avi".into())])
    );
    assert_eq!(en.locale.as_deref(), Some("en"));
    assert!(
        en.body.contains("for \u{2068}5\u{2069} minutes"),
        "{}",
        en.body
    );
    assert!(
        en.body.contains("(escalation step \u{2068}2\u{2069})"),
        "{}",
        en.body
    );
    let he = by_key("/he");
    assert_eq!(
        he.audience,
        Audience::Recipients(vec![
            Recipient::Person("dana".into()),
            Recipient::Role(Role::Responder)
        ])
    );
    assert_eq!(he.locale.as_deref(), Some("he"));
    let ru = by_key("/ru");
    assert_eq!(
        ru.audience,
        Audience::Recipients(vec![Recipient::Channel("ops".into())])
    );
    assert_eq!(ru.locale.as_deref(), Some("en"));
    assert_eq!(ru.body, en.body);
}

#[test]
fn the_stored_events_keep_what_was_sent_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let (id, before) = {
        let desk = desk(
            FileStore::open(dir.path()).unwrap(),
            &clock,
            Languages::shop("he"),
        );
        let id = open(&desk);
        desk.tick(start()).unwrap();
        desk.act(
            id,
            &dana(),
            Command::customer_update("אנחנו על זה. התשלום במזומן עובד.").unwrap(),
        )
        .unwrap();
        (id, requested(&desk, id))
    };
    assert_eq!(before.len(), 2);
    let update = &before[1];
    assert_eq!(update.key, format!("{id}/customer_update_posted/0"));
    assert_eq!(update.audience, Audience::Customers);
    assert_eq!(update.locale.as_deref(), Some("he"));
    assert!(
        update
            .sms
            .as_deref()
            .unwrap()
            .contains("התשלום במזומן עובד")
    );

    // Reopened with other languages and without catalogs: the history still holds the
    // Hebrew that was sent.
    let desk = Desk::builder(FileStore::open(dir.path()).unwrap(), &clock)
        .policy(policy(Languages::shop("en")))
        .build()
        .unwrap();
    assert_eq!(requested(&desk, id), before);
}

#[test]
fn without_catalogs_the_templates_are_used_and_no_language_is_recorded() {
    let clock = ManualClock::new(start());
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(Languages::shop("he").person("avi", "en")))
        .build()
        .unwrap();
    let id = open(&desk);
    clock.set(start() + Duration::minutes(5));
    desk.tick(clock.now()).unwrap();
    let sent = requested(&desk, id);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(sent.iter().all(|n| n.locale.is_none() && n.sms.is_none()));
    assert_eq!(sent[1].key, format!("{id}/escalation/0/0/1"));
}

#[test]
fn every_timer_renders_in_the_owners_language_with_its_counts() {
    let clock = ManualClock::new(start());
    let mut targets = Targets {
        acknowledge: Some(Duration::minutes(30)),
        resolve: Some(Duration::hours(2)),
        customer_updates: Some(Duration::minutes(20)),
        ..Targets::none()
    };
    targets.at_risk_percent = 50;
    let policy = Policy::new(
        Calendar::always_open_in(chrono_tz::Asia::Jerusalem),
        [(Severity::Critical, targets)].into(),
    )
    .unwrap()
    .with_languages(Languages::shop("en").person("dana", "he"))
    .unwrap();
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .catalogs(catalogs())
        .build()
        .unwrap();
    let id = open(&desk);
    let run = desk
        .run_until(start() + Duration::minutes(45), &Accept)
        .unwrap();
    let fired: Vec<String> = run.fired.iter().map(|(_, _, t)| t.key()).collect();
    assert!(
        fired.contains(&"sla/acknowledge/breached".to_string()),
        "{fired:?}"
    );
    for n in requested(&desk, id) {
        assert_eq!(n.audience, Audience::Owner);
        assert_eq!(n.locale.as_deref(), Some("he"), "{n:?}");
        assert!(!n.subject.is_empty() && !n.body.is_empty());
    }
    // The acknowledge target was missed at 09:30 Jerusalem time; at 09:30 the breach says
    // when, in Hebrew, in the shop's zone.
    let breach = requested(&desk, id)
        .into_iter()
        .find(|n| n.key.ends_with("sla/acknowledge/breached"))
        .unwrap();
    assert!(breach.body.contains("9:30"), "{}", breach.body);
    let timers: Vec<Timer> = run.fired.into_iter().map(|(_, _, t)| t).collect();
    assert!(!timers.is_empty());
}

#[test]
fn a_tag_that_is_not_a_language_is_refused_by_the_policy() {
    for (languages, whose) in [
        (Languages::shop(""), "shop"),
        (
            Languages::shop("he").person("avi", "english!"),
            "person avi",
        ),
        (Languages::shop("he").channel("ops", "e"), "channel ops"),
        (Languages::shop("he-").person("x", "en"), "shop"),
    ] {
        match Policy::small_business().with_languages(languages) {
            Err(PolicyError::Language { whose: w, .. }) => assert_eq!(w, whose),
            other => panic!("{other:?}"),
        }
    }
    // And through serde, as hosts load policies.
    let mut json = serde_json::to_value(Policy::small_business()).unwrap();
    json["languages"] = serde_json::json!({"shop": "he", "people": {"avi": "en_GB"}});
    let policy: Policy = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(policy.languages().of_person("avi"), "en_GB");
    assert_eq!(serde_json::to_value(&policy).unwrap(), json);
    json["languages"]["people"]["avi"] = "1x".into();
    let error = serde_json::from_value::<Policy>(json).unwrap_err();
    assert!(error.to_string().contains("person avi"), "{error}");
}

mod split {
    use super::*;
    use proptest::prelude::*;

    fn recipient() -> impl Strategy<Value = Recipient> {
        prop_oneof![
            Just(Recipient::IncidentOwner),
            prop::sample::select(vec!["avi", "dana", "noa", "eli"])
                .prop_map(|p| Recipient::Person(p.into())),
            prop::sample::select(vec!["ops", "night", "front"])
                .prop_map(|c| Recipient::Channel(c.into())),
            prop::sample::select(vec![Role::Responder, Role::Support]).prop_map(Recipient::Role),
        ]
    }

    fn tag() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["en", "he", "he-IL", "ru", "ar"])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whoever a step names and whatever languages they read, the step's notifications
        /// name each of its recipients exactly once, in the order the step does within each
        /// language, one notification per language with a distinct key, each written in the
        /// catalog for its language (English for those without one).
        #[test]
        fn a_step_reaches_each_recipient_once_in_their_language(
            step in prop::collection::vec(recipient(), 1..8),
            shop in tag(),
            people in prop::collection::btree_map(
                prop::sample::select(vec!["avi", "dana", "noa", "eli"]), tag(), 0..4),
            channels in prop::collection::btree_map(
                prop::sample::select(vec!["ops", "night", "front"]), tag(), 0..3),
        ) {
            let mut languages = Languages::shop(shop);
            for (p, t) in &people {
                languages = languages.person(*p, *t);
            }
            for (c, t) in &channels {
                languages = languages.channel(*c, *t);
            }
            let chain = Chain {
                steps: vec![Step { after: Duration::zero(), notify: step.clone(), channel: None }],
                rounds: Rounds::Once,
                repeat_from: 0,
                repeat_pause: Duration::minutes(15),
                outside_hours: Default::default(),
            };
            let targets = Targets { escalation: Some(chain), ..Targets::none() };
            let policy = Policy::new(Calendar::always_open(), [(Severity::Critical, targets)].into())
                .unwrap()
                .with_languages(languages.clone())
                .unwrap();
            let clock = ManualClock::new(start());
            let desk = Desk::builder(MemoryStore::new(), &clock)
                .policy(policy)
                .catalogs(catalogs())
                .build()
                .unwrap();
            let id = open(&desk);
            desk.tick(start()).unwrap();
            let sent = requested(&desk, id);
            let base = format!("{id}/escalation/0/0/0");
            let mut reached = Vec::new();
            let mut keys = std::collections::BTreeSet::new();
            for n in &sent {
                prop_assert!(keys.insert(n.key.clone()), "key twice: {}", n.key);
                let Audience::Recipients(readers) = &n.audience else {
                    return Err(TestCaseError::fail(format!("{:?}", n.audience)));
                };
                let language = languages.of_recipient(&readers[0], Some("dana"));
                for r in readers {
                    prop_assert_eq!(languages.of_recipient(r, Some("dana")), language);
                }
                if sent.len() == 1 {
                    prop_assert_eq!(&n.key, &base);
                } else {
                    prop_assert_eq!(&n.key, &format!("{base}/{language}"));
                }
                let expected = if language.starts_with("he") { "he" } else { "en" };
                prop_assert_eq!(n.locale.as_deref(), Some(expected));
                reached.extend(readers.iter().cloned());
            }
            // Each recipient once: the multiset of recipients is the step's.
            let mut want = step.clone();
            want.sort();
            reached.sort();
            prop_assert_eq!(reached, want);
        }
    }
}

/// SLA warnings sent to whoever is on call are written in that person's language, and name
/// them: the shop writes Hebrew, Avi (on call this week) reads English, the owner Hebrew.
#[test]
fn an_sla_warning_to_whoever_is_on_call_is_in_their_language() {
    use incidents::oncall::{Layer, Rotation, Schedule};
    let week = Layer::new(
        "week",
        ["avi", "dana"],
        Rotation::Weeks(1),
        chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
    );
    let pager = Schedule::new("pager", chrono_tz::Asia::Jerusalem, vec![week]).unwrap();
    let targets = Targets {
        acknowledge: Some(Duration::minutes(30)),
        ..Targets::none()
    }
    .with_warnings_to(vec![Recipient::OnCall("pager".into())]);
    let policy = Policy::new(
        Calendar::always_open_in(chrono_tz::Asia::Jerusalem),
        [(Severity::Critical, targets)].into(),
    )
    .unwrap()
    .with_languages(Languages::shop("he").person("avi", "en"))
    .unwrap()
    .with_schedules(vec![pager])
    .unwrap();
    let clock = ManualClock::new(start());
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .catalogs(catalogs())
        .build()
        .unwrap();
    let id = open(&desk);
    desk.run_until(start() + Duration::minutes(31), &Accept)
        .unwrap();
    let warnings: Vec<Notification> = requested(&desk, id)
        .into_iter()
        .filter(|n| n.key.contains("/sla/"))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    for n in &warnings {
        assert_eq!(
            n.audience,
            Audience::Recipients(vec![Recipient::Person("avi".into())])
        );
        assert_eq!(n.locale.as_deref(), Some("en"), "{n:?}");
    }
    assert!(warnings[0].key.ends_with("sla/acknowledge/at_risk"));
    assert!(warnings[1].key.ends_with("sla/acknowledge/breached"));
}
