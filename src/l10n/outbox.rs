//! The desk's notifications rendered from catalogs, in each recipient's language.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::catalogs::{Catalogs, Rendered};
use super::message::{IncidentFacts, Message, NoticeRecipient};
use crate::incident::Incident;
use crate::lifecycle::{Audience, Notification, Timer};
use crate::policy::{Languages, Recipient};

/// What the desk renders with: the catalogs, who reads which language, the shop's zone.
pub(crate) struct Localizer<'a> {
    pub catalogs: &'a Catalogs,
    pub languages: &'a Languages,
    pub zone: Tz,
}

/// Whole minutes from `from` to `to`, 0 if `to` is not later.
fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_minutes()).unwrap_or(0)
}

/// Whole hours from `from` to `to` (0 if `to` is earlier).
fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_hours()).unwrap_or(0)
}

impl Localizer<'_> {
    /// The notifications for `timer`, fired on `incident` at `now`, to `audience`: one per
    /// language its members read. With one language the key is `<incident>/<timer key>`, as
    /// the templates make it; with several, each gets `/<language>` after it.
    pub(crate) fn for_timer(
        &self,
        incident: &Incident,
        timer: &Timer,
        audience: Audience,
        channel: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<Notification> {
        let facts = IncidentFacts::of(incident);
        let owner_name;
        let message = match timer {
            Timer::Escalation { step, .. } => Message::Escalation {
                incident: facts,
                step: step.saturating_add(1),
                minutes: minutes(incident.cycle_started_at(), now),
            },
            Timer::SlaAtRisk { target, due } => Message::AtRisk {
                incident: facts,
                target: *target,
                due: *due,
                minutes: minutes(now, *due),
            },
            Timer::SlaBreached { target, due } => Message::Breached {
                incident: facts,
                target: *target,
                due: *due,
                minutes: minutes(*due, now),
            },
            Timer::CustomerUpdateDue { due, .. } => Message::UpdateDue {
                incident: facts,
                due: *due,
                minutes: minutes(*due, now),
            },
            Timer::FollowUpOverdue {
                follow_up,
                due,
                owner,
            } => {
                owner_name = incident
                    .owner()
                    .map_or_else(|| owner.clone(), |o| o.name().to_string());
                Message::FollowUpOverdue {
                    incident: facts,
                    action: incident
                        .follow_up(*follow_up)
                        .map_or("", |f| f.plan.title.as_str()),
                    owner: &owner_name,
                    due: *due,
                    days: u64::try_from((now - *due).num_days()).unwrap_or(0),
                }
            }
            Timer::QuietPeriodOver { last_signal } => Message::AutoResolved {
                incident: facts,
                since: *last_signal,
                minutes: minutes(*last_signal, now),
            },
            // Returned above.
            Timer::NoticeAtRisk { regime, phase, due }
            | Timer::NoticeOverdue { regime, phase, due } => {
                let Some((regime_of, phase_of)) =
                    incident.breach().and_then(|b| b.phase(regime, phase))
                else {
                    return Vec::new();
                };
                let recipient = NoticeRecipient::of(&phase_of.recipient);
                if matches!(timer, Timer::NoticeAtRisk { .. }) {
                    Message::NoticeAtRisk {
                        incident: facts,
                        regime: &regime_of.name,
                        phase: &phase_of.id,
                        recipient,
                        due: *due,
                        hours: hours(now, *due),
                    }
                } else {
                    Message::NoticeOverdue {
                        incident: facts,
                        regime: &regime_of.name,
                        phase: &phase_of.id,
                        recipient,
                        due: *due,
                        hours: hours(*due, now),
                    }
                }
            }
        };
        let key = format!("{}/{}", incident.id(), timer.key());
        self.by_language(incident, &key, audience, channel, &message)
    }

    /// The notification to customers for customer update number `n` (from 0), in the
    /// shop's language.
    pub(crate) fn for_customer_update(
        &self,
        incident: &Incident,
        n: usize,
        message: &str,
    ) -> Notification {
        let key = format!("{}/customer_update_posted/{n}", incident.id());
        let message = Message::CustomerUpdate {
            service: incident.service().as_str(),
            message,
        };
        let rendered = self
            .catalogs
            .render(&self.languages.shop, self.zone, &message);
        notification(key, incident, Audience::Customers, None, rendered)
    }

    /// `message` for `audience`, one notification per language its members read.
    fn by_language(
        &self,
        incident: &Incident,
        key: &str,
        audience: Audience,
        channel: Option<&str>,
        message: &Message<'_>,
    ) -> Vec<Notification> {
        let owner = incident.owner().map(crate::model::Actor::id);
        let groups: Vec<(&str, Audience)> = match audience {
            Audience::Owner => vec![(
                owner.map_or(self.languages.shop.as_str(), |o| {
                    self.languages.of_person(o)
                }),
                Audience::Owner,
            )],
            Audience::Recipients(recipients) => {
                // Languages in the order their first reader appears in the step.
                let mut groups: Vec<(&str, Vec<Recipient>)> = Vec::new();
                for recipient in recipients {
                    let language = self.languages.of_recipient(&recipient, owner);
                    match groups.iter_mut().find(|(l, _)| *l == language) {
                        Some((_, readers)) => readers.push(recipient),
                        None => groups.push((language, vec![recipient])),
                    }
                }
                if groups.is_empty() {
                    // A step naming nobody (the policy refuses it): the shop's language.
                    groups.push((&self.languages.shop, Vec::new()));
                }
                groups
                    .into_iter()
                    .map(|(language, readers)| (language, Audience::Recipients(readers)))
                    .collect()
            }
            other => vec![(self.languages.shop.as_str(), other)],
        };
        let split = groups.len() > 1;
        groups
            .into_iter()
            .map(|(language, audience)| {
                let rendered = self.catalogs.render(language, self.zone, message);
                let key = if split {
                    format!("{key}/{language}")
                } else {
                    key.to_string()
                };
                notification(
                    key,
                    incident,
                    audience,
                    channel.map(str::to_string),
                    rendered,
                )
            })
            .collect()
    }
}

fn notification(
    key: String,
    incident: &Incident,
    audience: Audience,
    channel: Option<String>,
    rendered: Rendered,
) -> Notification {
    Notification {
        key,
        incident: Some(incident.id()),
        audience,
        channel,
        subject: rendered.subject.unwrap_or_default(),
        body: rendered.body,
        locale: Some(rendered.locale),
        sms: rendered.sms.map(|s| s.text),
    }
}

/// The reminder that `reminder.person`'s on-call stretch is about to start, rendered in the
/// person's language with times in `zone` (the schedule's), for `Recipient::Person(person)`
/// and keyed by [`ShiftReminder::key`](crate::oncall::ShiftReminder::key).
pub(crate) fn shift_reminder(
    catalogs: &Catalogs,
    languages: &Languages,
    reminder: &crate::oncall::ShiftReminder,
    zone: Tz,
) -> Notification {
    let message = Message::ShiftReminder {
        schedule: &reminder.schedule,
        starts: reminder.start,
        ends: reminder.end,
    };
    let rendered = catalogs.render(languages.of_person(&reminder.person), zone, &message);
    let mut notification = Notification::without_incident(
        reminder.key(),
        Audience::Recipients(vec![Recipient::Person(reminder.person.clone())]),
        rendered.subject.unwrap_or_default(),
        rendered.body,
    )
    .with_locale(rendered.locale);
    notification.sms = rendered.sms.map(|s| s.text);
    notification
}
