//! The `l10n` feature: shipped catalogs (golden), bidi safety (property), load errors,
//! fallback logging and SMS segment counting.

use chrono::{DateTime, TimeZone, Utc};
use incidents::l10n::{Catalogs, IncidentFacts, Message, MessageId, NoticeRecipient, Rendered};
use incidents::lifecycle::SlaTarget;
use incidents::{IncidentId, Severity};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 7, 5, 0).unwrap()
}

fn facts<'a>(title: &'a str, service: &'a str) -> IncidentFacts<'a> {
    IncidentFacts {
        id: IncidentId::from_bytes([7; 16]),
        title,
        service,
        severity: Severity::Critical,
    }
}

/// One message of each id, every count `n`.
fn messages<'a>(f: IncidentFacts<'a>, text: &'a str, n: u64) -> Vec<Message<'a>> {
    vec![
        Message::Escalation {
            incident: f,
            step: 2,
            minutes: n,
        },
        Message::AtRisk {
            incident: f,
            target: SlaTarget::Resolve,
            due: at(),
            minutes: n,
        },
        Message::Breached {
            incident: f,
            target: SlaTarget::Acknowledge,
            due: at(),
            minutes: n,
        },
        Message::UpdateDue {
            incident: f,
            due: at(),
            minutes: n,
        },
        Message::CustomerUpdate {
            service: f.service,
            message: text,
        },
        Message::AutoResolved {
            incident: f,
            since: at(),
            minutes: n,
        },
        Message::FollowUpOverdue {
            incident: f,
            action: text,
            owner: "Dana",
            due: at(),
            days: n,
        },
        Message::MaintenanceReminder {
            service: f.service,
            what: text,
            starts: at(),
            minutes: n,
        },
        Message::MaintenanceScheduled {
            service: f.service,
            what: text,
            starts: at(),
            ends: at() + chrono::Duration::hours(2),
        },
        Message::SubscriptionConfirmation {
            service: f.service,
            link: "https://status.example/c/Xy12",
            expires: at(),
            hours: n,
        },
        Message::NoticeAtRisk {
            incident: f,
            regime: "GDPR",
            phase: "authority",
            recipient: NoticeRecipient::Authority,
            due: at(),
            hours: n,
        },
        Message::NoticeOverdue {
            incident: f,
            regime: "GDPR",
            phase: "data-subjects",
            recipient: NoticeRecipient::DataSubjects,
            due: at(),
            hours: n,
        },
        Message::UnsubscribeFooter {
            link: "https://status.example/u/Xy12",
        },
        Message::ShiftReminder {
            schedule: f.service,
            starts: at(),
            ends: at() + chrono::Duration::days(7),
        },
    ]
}

/// The parts joined by ` | `, isolates shown as `{` `}`, the incident id as `ID`.
fn shown(r: &Rendered) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &r.subject {
        parts.push(s.clone());
    }
    parts.push(r.body.clone());
    if let Some(s) = &r.sms {
        parts.push(format!(
            "{} ({} {})",
            s.text, s.segments.chars, s.segments.encoding
        ));
    }
    parts
        .join(" | ")
        .replace(&IncidentId::from_bytes([7; 16]).to_string(), "ID")
        .replace('\u{2068}', "{")
        .replace('\u{2069}', "}")
}

/// Every shipped message in English and Hebrew with the counts 1, 2, 11, 20 and 100 (the
/// messages without a count once): subject | body | SMS (its length and encoding).
/// Hebrew 20 and 100 take `other` (`{20} דקות`), as 11 does; 1 and 2 their own words.
const GOLDEN: &[(&str, &str, u64, &str)] = &[
    (
        "en",
        "escalation",
        1,
        "[critical] {Till 2 rejects cards} ({shop}) needs someone | Nobody has acknowledged incident {ID} on {shop} for {1} minute (escalation step {2}). Please acknowledge it or hand it on. | CRITICAL: Till 2 rejects cards (shop) unacknowledged for 1 min, step 2 (70 gsm7)",
    ),
    (
        "en",
        "escalation",
        2,
        "[critical] {Till 2 rejects cards} ({shop}) needs someone | Nobody has acknowledged incident {ID} on {shop} for {2} minutes (escalation step {2}). Please acknowledge it or hand it on. | CRITICAL: Till 2 rejects cards (shop) unacknowledged for 2 min, step 2 (70 gsm7)",
    ),
    (
        "en",
        "escalation",
        11,
        "[critical] {Till 2 rejects cards} ({shop}) needs someone | Nobody has acknowledged incident {ID} on {shop} for {11} minutes (escalation step {2}). Please acknowledge it or hand it on. | CRITICAL: Till 2 rejects cards (shop) unacknowledged for 11 min, step 2 (71 gsm7)",
    ),
    (
        "en",
        "escalation",
        20,
        "[critical] {Till 2 rejects cards} ({shop}) needs someone | Nobody has acknowledged incident {ID} on {shop} for {20} minutes (escalation step {2}). Please acknowledge it or hand it on. | CRITICAL: Till 2 rejects cards (shop) unacknowledged for 20 min, step 2 (71 gsm7)",
    ),
    (
        "en",
        "escalation",
        100,
        "[critical] {Till 2 rejects cards} ({shop}) needs someone | Nobody has acknowledged incident {ID} on {shop} for {100} minutes (escalation step {2}). Please acknowledge it or hand it on. | CRITICAL: Till 2 rejects cards (shop) unacknowledged for 100 min, step 2 (72 gsm7)",
    ),
    (
        "en",
        "at-risk",
        1,
        "[critical] {Till 2 rejects cards}: time to resolve at risk | Incident {ID} on {shop}: its time to resolve runs out at {Dec 3, 2026, 9:05\u{202f}AM}, in {1} minute. | Till 2 rejects cards: resolve within 1 min (42 gsm7)",
    ),
    (
        "en",
        "at-risk",
        2,
        "[critical] {Till 2 rejects cards}: time to resolve at risk | Incident {ID} on {shop}: its time to resolve runs out at {Dec 3, 2026, 9:05\u{202f}AM}, in {2} minutes. | Till 2 rejects cards: resolve within 2 min (42 gsm7)",
    ),
    (
        "en",
        "at-risk",
        11,
        "[critical] {Till 2 rejects cards}: time to resolve at risk | Incident {ID} on {shop}: its time to resolve runs out at {Dec 3, 2026, 9:05\u{202f}AM}, in {11} minutes. | Till 2 rejects cards: resolve within 11 min (43 gsm7)",
    ),
    (
        "en",
        "at-risk",
        20,
        "[critical] {Till 2 rejects cards}: time to resolve at risk | Incident {ID} on {shop}: its time to resolve runs out at {Dec 3, 2026, 9:05\u{202f}AM}, in {20} minutes. | Till 2 rejects cards: resolve within 20 min (43 gsm7)",
    ),
    (
        "en",
        "at-risk",
        100,
        "[critical] {Till 2 rejects cards}: time to resolve at risk | Incident {ID} on {shop}: its time to resolve runs out at {Dec 3, 2026, 9:05\u{202f}AM}, in {100} minutes. | Till 2 rejects cards: resolve within 100 min (44 gsm7)",
    ),
    (
        "en",
        "breached",
        1,
        "[critical] {Till 2 rejects cards}: time to acknowledge missed | Incident {ID} on {shop}: its time to acknowledge ran out at {Dec 3, 2026, 9:05\u{202f}AM}, {1} minute ago. | Till 2 rejects cards: acknowledgement overdue by 1 min (54 gsm7)",
    ),
    (
        "en",
        "breached",
        2,
        "[critical] {Till 2 rejects cards}: time to acknowledge missed | Incident {ID} on {shop}: its time to acknowledge ran out at {Dec 3, 2026, 9:05\u{202f}AM}, {2} minutes ago. | Till 2 rejects cards: acknowledgement overdue by 2 min (54 gsm7)",
    ),
    (
        "en",
        "breached",
        11,
        "[critical] {Till 2 rejects cards}: time to acknowledge missed | Incident {ID} on {shop}: its time to acknowledge ran out at {Dec 3, 2026, 9:05\u{202f}AM}, {11} minutes ago. | Till 2 rejects cards: acknowledgement overdue by 11 min (55 gsm7)",
    ),
    (
        "en",
        "breached",
        20,
        "[critical] {Till 2 rejects cards}: time to acknowledge missed | Incident {ID} on {shop}: its time to acknowledge ran out at {Dec 3, 2026, 9:05\u{202f}AM}, {20} minutes ago. | Till 2 rejects cards: acknowledgement overdue by 20 min (55 gsm7)",
    ),
    (
        "en",
        "breached",
        100,
        "[critical] {Till 2 rejects cards}: time to acknowledge missed | Incident {ID} on {shop}: its time to acknowledge ran out at {Dec 3, 2026, 9:05\u{202f}AM}, {100} minutes ago. | Till 2 rejects cards: acknowledgement overdue by 100 min (56 gsm7)",
    ),
    (
        "en",
        "update-due",
        1,
        "[critical] {Till 2 rejects cards}: customers are waiting for an update | Incident {ID} on {shop}: customers were due an update at {Dec 3, 2026, 9:05\u{202f}AM}, {1} minute ago. | Till 2 rejects cards: customer update overdue by 1 min (54 gsm7)",
    ),
    (
        "en",
        "update-due",
        2,
        "[critical] {Till 2 rejects cards}: customers are waiting for an update | Incident {ID} on {shop}: customers were due an update at {Dec 3, 2026, 9:05\u{202f}AM}, {2} minutes ago. | Till 2 rejects cards: customer update overdue by 2 min (54 gsm7)",
    ),
    (
        "en",
        "update-due",
        11,
        "[critical] {Till 2 rejects cards}: customers are waiting for an update | Incident {ID} on {shop}: customers were due an update at {Dec 3, 2026, 9:05\u{202f}AM}, {11} minutes ago. | Till 2 rejects cards: customer update overdue by 11 min (55 gsm7)",
    ),
    (
        "en",
        "update-due",
        20,
        "[critical] {Till 2 rejects cards}: customers are waiting for an update | Incident {ID} on {shop}: customers were due an update at {Dec 3, 2026, 9:05\u{202f}AM}, {20} minutes ago. | Till 2 rejects cards: customer update overdue by 20 min (55 gsm7)",
    ),
    (
        "en",
        "update-due",
        100,
        "[critical] {Till 2 rejects cards}: customers are waiting for an update | Incident {ID} on {shop}: customers were due an update at {Dec 3, 2026, 9:05\u{202f}AM}, {100} minutes ago. | Till 2 rejects cards: customer update overdue by 100 min (56 gsm7)",
    ),
    (
        "en",
        "customer-update",
        1,
        "Service update: {shop} | {Card payments work again.} | shop: Card payments work again. (31 gsm7)",
    ),
    (
        "en",
        "auto-resolved",
        1,
        "[critical] {Till 2 rejects cards}: auto-resolved | Every alert on incident {ID} ({shop}) reported resolved and nothing new has arrived for {1} minute, since {Dec 3, 2026, 9:05\u{202f}AM}; the incident is resolved. Reopen it if the problem is back.",
    ),
    (
        "en",
        "auto-resolved",
        2,
        "[critical] {Till 2 rejects cards}: auto-resolved | Every alert on incident {ID} ({shop}) reported resolved and nothing new has arrived for {2} minutes, since {Dec 3, 2026, 9:05\u{202f}AM}; the incident is resolved. Reopen it if the problem is back.",
    ),
    (
        "en",
        "auto-resolved",
        11,
        "[critical] {Till 2 rejects cards}: auto-resolved | Every alert on incident {ID} ({shop}) reported resolved and nothing new has arrived for {11} minutes, since {Dec 3, 2026, 9:05\u{202f}AM}; the incident is resolved. Reopen it if the problem is back.",
    ),
    (
        "en",
        "auto-resolved",
        20,
        "[critical] {Till 2 rejects cards}: auto-resolved | Every alert on incident {ID} ({shop}) reported resolved and nothing new has arrived for {20} minutes, since {Dec 3, 2026, 9:05\u{202f}AM}; the incident is resolved. Reopen it if the problem is back.",
    ),
    (
        "en",
        "auto-resolved",
        100,
        "[critical] {Till 2 rejects cards}: auto-resolved | Every alert on incident {ID} ({shop}) reported resolved and nothing new has arrived for {100} minutes, since {Dec 3, 2026, 9:05\u{202f}AM}; the incident is resolved. Reopen it if the problem is back.",
    ),
    (
        "en",
        "follow-up-overdue",
        1,
        "Overdue: {Card payments work again.} | The follow-up {Card payments work again.} from the review of incident {ID} ({Till 2 rejects cards}) was due at {Dec 3, 2026, 9:05\u{202f}AM}, {1} day ago. Please do it, or agree a new date with {Dana}.",
    ),
    (
        "en",
        "follow-up-overdue",
        2,
        "Overdue: {Card payments work again.} | The follow-up {Card payments work again.} from the review of incident {ID} ({Till 2 rejects cards}) was due at {Dec 3, 2026, 9:05\u{202f}AM}, {2} days ago. Please do it, or agree a new date with {Dana}.",
    ),
    (
        "en",
        "follow-up-overdue",
        11,
        "Overdue: {Card payments work again.} | The follow-up {Card payments work again.} from the review of incident {ID} ({Till 2 rejects cards}) was due at {Dec 3, 2026, 9:05\u{202f}AM}, {11} days ago. Please do it, or agree a new date with {Dana}.",
    ),
    (
        "en",
        "follow-up-overdue",
        20,
        "Overdue: {Card payments work again.} | The follow-up {Card payments work again.} from the review of incident {ID} ({Till 2 rejects cards}) was due at {Dec 3, 2026, 9:05\u{202f}AM}, {20} days ago. Please do it, or agree a new date with {Dana}.",
    ),
    (
        "en",
        "follow-up-overdue",
        100,
        "Overdue: {Card payments work again.} | The follow-up {Card payments work again.} from the review of incident {ID} ({Till 2 rejects cards}) was due at {Dec 3, 2026, 9:05\u{202f}AM}, {100} days ago. Please do it, or agree a new date with {Dana}.",
    ),
    (
        "en",
        "maintenance-reminder",
        1,
        "Scheduled maintenance on {shop} starts in {1} minute | Reminder: scheduled maintenance on {shop} ({Card payments work again.}) starts at {Dec 3, 2026, 9:05\u{202f}AM}, in {1} minute. The service may be unavailable while it lasts. | shop: maintenance in 1 min: Card payments work again. (53 gsm7)",
    ),
    (
        "en",
        "maintenance-reminder",
        2,
        "Scheduled maintenance on {shop} starts in {2} minutes | Reminder: scheduled maintenance on {shop} ({Card payments work again.}) starts at {Dec 3, 2026, 9:05\u{202f}AM}, in {2} minutes. The service may be unavailable while it lasts. | shop: maintenance in 2 min: Card payments work again. (53 gsm7)",
    ),
    (
        "en",
        "maintenance-reminder",
        11,
        "Scheduled maintenance on {shop} starts in {11} minutes | Reminder: scheduled maintenance on {shop} ({Card payments work again.}) starts at {Dec 3, 2026, 9:05\u{202f}AM}, in {11} minutes. The service may be unavailable while it lasts. | shop: maintenance in 11 min: Card payments work again. (54 gsm7)",
    ),
    (
        "en",
        "maintenance-reminder",
        20,
        "Scheduled maintenance on {shop} starts in {20} minutes | Reminder: scheduled maintenance on {shop} ({Card payments work again.}) starts at {Dec 3, 2026, 9:05\u{202f}AM}, in {20} minutes. The service may be unavailable while it lasts. | shop: maintenance in 20 min: Card payments work again. (54 gsm7)",
    ),
    (
        "en",
        "maintenance-reminder",
        100,
        "Scheduled maintenance on {shop} starts in {100} minutes | Reminder: scheduled maintenance on {shop} ({Card payments work again.}) starts at {Dec 3, 2026, 9:05\u{202f}AM}, in {100} minutes. The service may be unavailable while it lasts. | shop: maintenance in 100 min: Card payments work again. (55 gsm7)",
    ),
    (
        "en",
        "maintenance-scheduled",
        1,
        "Scheduled maintenance on {shop} | Scheduled maintenance on {shop}: {Card payments work again.}. It starts at {Dec 3, 2026, 9:05\u{202f}AM} and should be over by {Dec 3, 2026, 11:05\u{202f}AM}. The service may be unavailable while it lasts. | {shop} maintenance {Dec 3, 2026, 9:05\u{202f}AM}: {Card payments work again.} (70 ucs2)",
    ),
    (
        "en",
        "subscription-confirmation",
        1,
        "Confirm your subscription to {shop} updates | To receive updates about {shop}, confirm by following {https://status.example/c/Xy12}. The link expires at {Dec 3, 2026, 9:05\u{202f}AM}, in {1} hour. If you did not ask for this, ignore this message. | Confirm shop updates: https://status.example/c/Xy12 (51 gsm7)",
    ),
    (
        "en",
        "subscription-confirmation",
        2,
        "Confirm your subscription to {shop} updates | To receive updates about {shop}, confirm by following {https://status.example/c/Xy12}. The link expires at {Dec 3, 2026, 9:05\u{202f}AM}, in {2} hours. If you did not ask for this, ignore this message. | Confirm shop updates: https://status.example/c/Xy12 (51 gsm7)",
    ),
    (
        "en",
        "subscription-confirmation",
        11,
        "Confirm your subscription to {shop} updates | To receive updates about {shop}, confirm by following {https://status.example/c/Xy12}. The link expires at {Dec 3, 2026, 9:05\u{202f}AM}, in {11} hours. If you did not ask for this, ignore this message. | Confirm shop updates: https://status.example/c/Xy12 (51 gsm7)",
    ),
    (
        "en",
        "subscription-confirmation",
        20,
        "Confirm your subscription to {shop} updates | To receive updates about {shop}, confirm by following {https://status.example/c/Xy12}. The link expires at {Dec 3, 2026, 9:05\u{202f}AM}, in {20} hours. If you did not ask for this, ignore this message. | Confirm shop updates: https://status.example/c/Xy12 (51 gsm7)",
    ),
    (
        "en",
        "subscription-confirmation",
        100,
        "Confirm your subscription to {shop} updates | To receive updates about {shop}, confirm by following {https://status.example/c/Xy12}. The link expires at {Dec 3, 2026, 9:05\u{202f}AM}, in {100} hours. If you did not ask for this, ignore this message. | Confirm shop updates: https://status.example/c/Xy12 (51 gsm7)",
    ),
    (
        "en",
        "unsubscribe-footer",
        1,
        "You receive this because you subscribed to updates. Unsubscribe: {https://status.example/u/Xy12}",
    ),
    (
        "he",
        "escalation",
        1,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי} ({קופות}): דרוש טיפול | אף אחד עוד לא אישר את התקלה {ID} ב־{קופות}, כבר דקה אחת (שלב הסלמה {2}). נא לאשר אותה או להעביר אותה הלאה. | קריטי: {הקופה השנייה לא מקבלת אשראי} ללא מענה כבר דקה (53 ucs2)",
    ),
    (
        "he",
        "escalation",
        2,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי} ({קופות}): דרוש טיפול | אף אחד עוד לא אישר את התקלה {ID} ב־{קופות}, כבר שתי דקות (שלב הסלמה {2}). נא לאשר אותה או להעביר אותה הלאה. | קריטי: {הקופה השנייה לא מקבלת אשראי} ללא מענה כבר {2} דק׳ (57 ucs2)",
    ),
    (
        "he",
        "escalation",
        11,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי} ({קופות}): דרוש טיפול | אף אחד עוד לא אישר את התקלה {ID} ב־{קופות}, כבר {11} דקות (שלב הסלמה {2}). נא לאשר אותה או להעביר אותה הלאה. | קריטי: {הקופה השנייה לא מקבלת אשראי} ללא מענה כבר {11} דק׳ (58 ucs2)",
    ),
    (
        "he",
        "escalation",
        20,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי} ({קופות}): דרוש טיפול | אף אחד עוד לא אישר את התקלה {ID} ב־{קופות}, כבר {20} דקות (שלב הסלמה {2}). נא לאשר אותה או להעביר אותה הלאה. | קריטי: {הקופה השנייה לא מקבלת אשראי} ללא מענה כבר {20} דק׳ (58 ucs2)",
    ),
    (
        "he",
        "escalation",
        100,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי} ({קופות}): דרוש טיפול | אף אחד עוד לא אישר את התקלה {ID} ב־{קופות}, כבר {100} דקות (שלב הסלמה {2}). נא לאשר אותה או להעביר אותה הלאה. | קריטי: {הקופה השנייה לא מקבלת אשראי} ללא מענה כבר {100} דק׳ (59 ucs2)",
    ),
    (
        "he",
        "at-risk",
        1,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן הפתרון בסכנה | תקלה {ID} ב־{קופות}: זמן הפתרון מסתיים ב־{3 בדצמ׳ 2026, 9:05}, בעוד דקה אחת. | {הקופה השנייה לא מקבלת אשראי}: פתרון בעוד דקה (45 ucs2)",
    ),
    (
        "he",
        "at-risk",
        2,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן הפתרון בסכנה | תקלה {ID} ב־{קופות}: זמן הפתרון מסתיים ב־{3 בדצמ׳ 2026, 9:05}, בעוד שתי דקות. | {הקופה השנייה לא מקבלת אשראי}: פתרון בעוד {2} דק׳ (49 ucs2)",
    ),
    (
        "he",
        "at-risk",
        11,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן הפתרון בסכנה | תקלה {ID} ב־{קופות}: זמן הפתרון מסתיים ב־{3 בדצמ׳ 2026, 9:05}, בעוד {11} דקות. | {הקופה השנייה לא מקבלת אשראי}: פתרון בעוד {11} דק׳ (50 ucs2)",
    ),
    (
        "he",
        "at-risk",
        20,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן הפתרון בסכנה | תקלה {ID} ב־{קופות}: זמן הפתרון מסתיים ב־{3 בדצמ׳ 2026, 9:05}, בעוד {20} דקות. | {הקופה השנייה לא מקבלת אשראי}: פתרון בעוד {20} דק׳ (50 ucs2)",
    ),
    (
        "he",
        "at-risk",
        100,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן הפתרון בסכנה | תקלה {ID} ב־{קופות}: זמן הפתרון מסתיים ב־{3 בדצמ׳ 2026, 9:05}, בעוד {100} דקות. | {הקופה השנייה לא מקבלת אשראי}: פתרון בעוד {100} דק׳ (51 ucs2)",
    ),
    (
        "he",
        "breached",
        1,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן התגובה חלף | תקלה {ID} ב־{קופות}: זמן התגובה הסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני דקה אחת. | {הקופה השנייה לא מקבלת אשראי}: איחור בתגובה דקה (47 ucs2)",
    ),
    (
        "he",
        "breached",
        2,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן התגובה חלף | תקלה {ID} ב־{קופות}: זמן התגובה הסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני שתי דקות. | {הקופה השנייה לא מקבלת אשראי}: איחור בתגובה {2} דק׳ (51 ucs2)",
    ),
    (
        "he",
        "breached",
        11,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן התגובה חלף | תקלה {ID} ב־{קופות}: זמן התגובה הסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {11} דקות. | {הקופה השנייה לא מקבלת אשראי}: איחור בתגובה {11} דק׳ (52 ucs2)",
    ),
    (
        "he",
        "breached",
        20,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן התגובה חלף | תקלה {ID} ב־{קופות}: זמן התגובה הסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {20} דקות. | {הקופה השנייה לא מקבלת אשראי}: איחור בתגובה {20} דק׳ (52 ucs2)",
    ),
    (
        "he",
        "breached",
        100,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: זמן התגובה חלף | תקלה {ID} ב־{קופות}: זמן התגובה הסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {100} דקות. | {הקופה השנייה לא מקבלת אשראי}: איחור בתגובה {100} דק׳ (53 ucs2)",
    ),
    (
        "he",
        "update-due",
        1,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: הלקוחות מחכים לעדכון | תקלה {ID} ב־{קופות}: הלקוחות היו אמורים לקבל עדכון ב־{3 בדצמ׳ 2026, 9:05}, לפני דקה אחת. | {הקופה השנייה לא מקבלת אשראי}: עדכון ללקוחות באיחור של דקה (58 ucs2)",
    ),
    (
        "he",
        "update-due",
        2,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: הלקוחות מחכים לעדכון | תקלה {ID} ב־{קופות}: הלקוחות היו אמורים לקבל עדכון ב־{3 בדצמ׳ 2026, 9:05}, לפני שתי דקות. | {הקופה השנייה לא מקבלת אשראי}: עדכון ללקוחות באיחור של {2} דק׳ (62 ucs2)",
    ),
    (
        "he",
        "update-due",
        11,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: הלקוחות מחכים לעדכון | תקלה {ID} ב־{קופות}: הלקוחות היו אמורים לקבל עדכון ב־{3 בדצמ׳ 2026, 9:05}, לפני {11} דקות. | {הקופה השנייה לא מקבלת אשראי}: עדכון ללקוחות באיחור של {11} דק׳ (63 ucs2)",
    ),
    (
        "he",
        "update-due",
        20,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: הלקוחות מחכים לעדכון | תקלה {ID} ב־{קופות}: הלקוחות היו אמורים לקבל עדכון ב־{3 בדצמ׳ 2026, 9:05}, לפני {20} דקות. | {הקופה השנייה לא מקבלת אשראי}: עדכון ללקוחות באיחור של {20} דק׳ (63 ucs2)",
    ),
    (
        "he",
        "update-due",
        100,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: הלקוחות מחכים לעדכון | תקלה {ID} ב־{קופות}: הלקוחות היו אמורים לקבל עדכון ב־{3 בדצמ׳ 2026, 9:05}, לפני {100} דקות. | {הקופה השנייה לא מקבלת אשראי}: עדכון ללקוחות באיחור של {100} דק׳ (64 ucs2)",
    ),
    (
        "he",
        "customer-update",
        1,
        "עדכון שירות: {קופות} | \u{200f}{התשלום באשראי חזר לעבוד.} | \u{200f}{קופות}: {התשלום באשראי חזר לעבוד.} (36 ucs2)",
    ),
    (
        "he",
        "auto-resolved",
        1,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: נפתרה אוטומטית | כל ההתראות על התקלה {ID} ({קופות}) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר דקה אחת, מאז {3 בדצמ׳ 2026, 9:05}; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.",
    ),
    (
        "he",
        "auto-resolved",
        2,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: נפתרה אוטומטית | כל ההתראות על התקלה {ID} ({קופות}) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר שתי דקות, מאז {3 בדצמ׳ 2026, 9:05}; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.",
    ),
    (
        "he",
        "auto-resolved",
        11,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: נפתרה אוטומטית | כל ההתראות על התקלה {ID} ({קופות}) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר {11} דקות, מאז {3 בדצמ׳ 2026, 9:05}; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.",
    ),
    (
        "he",
        "auto-resolved",
        20,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: נפתרה אוטומטית | כל ההתראות על התקלה {ID} ({קופות}) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר {20} דקות, מאז {3 בדצמ׳ 2026, 9:05}; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.",
    ),
    (
        "he",
        "auto-resolved",
        100,
        "[קריטי] {הקופה השנייה לא מקבלת אשראי}: נפתרה אוטומטית | כל ההתראות על התקלה {ID} ({קופות}) דיווחו שהבעיה נפתרה, ולא הגיע דבר חדש כבר {100} דקות, מאז {3 בדצמ׳ 2026, 9:05}; התקלה סומנה כפתורה. אם הבעיה חזרה, פתחו אותה מחדש.",
    ),
    (
        "he",
        "follow-up-overdue",
        1,
        "באיחור: {התשלום באשראי חזר לעבוד.} | משימת ההמשך {התשלום באשראי חזר לעבוד.} מהתחקיר של התקלה {ID} ({הקופה השנייה לא מקבלת אשראי}) הייתה אמורה להסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני יום אחד. נא לבצע אותה, או לקבוע מועד חדש עם {Dana}.",
    ),
    (
        "he",
        "follow-up-overdue",
        2,
        "באיחור: {התשלום באשראי חזר לעבוד.} | משימת ההמשך {התשלום באשראי חזר לעבוד.} מהתחקיר של התקלה {ID} ({הקופה השנייה לא מקבלת אשראי}) הייתה אמורה להסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני יומיים. נא לבצע אותה, או לקבוע מועד חדש עם {Dana}.",
    ),
    (
        "he",
        "follow-up-overdue",
        11,
        "באיחור: {התשלום באשראי חזר לעבוד.} | משימת ההמשך {התשלום באשראי חזר לעבוד.} מהתחקיר של התקלה {ID} ({הקופה השנייה לא מקבלת אשראי}) הייתה אמורה להסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {11} ימים. נא לבצע אותה, או לקבוע מועד חדש עם {Dana}.",
    ),
    (
        "he",
        "follow-up-overdue",
        20,
        "באיחור: {התשלום באשראי חזר לעבוד.} | משימת ההמשך {התשלום באשראי חזר לעבוד.} מהתחקיר של התקלה {ID} ({הקופה השנייה לא מקבלת אשראי}) הייתה אמורה להסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {20} ימים. נא לבצע אותה, או לקבוע מועד חדש עם {Dana}.",
    ),
    (
        "he",
        "follow-up-overdue",
        100,
        "באיחור: {התשלום באשראי חזר לעבוד.} | משימת ההמשך {התשלום באשראי חזר לעבוד.} מהתחקיר של התקלה {ID} ({הקופה השנייה לא מקבלת אשראי}) הייתה אמורה להסתיים ב־{3 בדצמ׳ 2026, 9:05}, לפני {100} ימים. נא לבצע אותה, או לקבוע מועד חדש עם {Dana}.",
    ),
    (
        "he",
        "maintenance-reminder",
        1,
        "תחזוקה מתוכננת ב־{קופות} מתחילה בעוד דקה אחת | תזכורת: תחזוקה מתוכננת ב־{קופות} ({התשלום באשראי חזר לעבוד.}) תתחיל ב־{3 בדצמ׳ 2026, 9:05}, בעוד דקה אחת. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} בעוד דקה: {התשלום באשראי חזר לעבוד.} (53 ucs2)",
    ),
    (
        "he",
        "maintenance-reminder",
        2,
        "תחזוקה מתוכננת ב־{קופות} מתחילה בעוד שתי דקות | תזכורת: תחזוקה מתוכננת ב־{קופות} ({התשלום באשראי חזר לעבוד.}) תתחיל ב־{3 בדצמ׳ 2026, 9:05}, בעוד שתי דקות. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} בעוד {2} דק׳: {התשלום באשראי חזר לעבוד.} (57 ucs2)",
    ),
    (
        "he",
        "maintenance-reminder",
        11,
        "תחזוקה מתוכננת ב־{קופות} מתחילה בעוד {11} דקות | תזכורת: תחזוקה מתוכננת ב־{קופות} ({התשלום באשראי חזר לעבוד.}) תתחיל ב־{3 בדצמ׳ 2026, 9:05}, בעוד {11} דקות. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} בעוד {11} דק׳: {התשלום באשראי חזר לעבוד.} (58 ucs2)",
    ),
    (
        "he",
        "maintenance-reminder",
        20,
        "תחזוקה מתוכננת ב־{קופות} מתחילה בעוד {20} דקות | תזכורת: תחזוקה מתוכננת ב־{קופות} ({התשלום באשראי חזר לעבוד.}) תתחיל ב־{3 בדצמ׳ 2026, 9:05}, בעוד {20} דקות. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} בעוד {20} דק׳: {התשלום באשראי חזר לעבוד.} (58 ucs2)",
    ),
    (
        "he",
        "maintenance-reminder",
        100,
        "תחזוקה מתוכננת ב־{קופות} מתחילה בעוד {100} דקות | תזכורת: תחזוקה מתוכננת ב־{קופות} ({התשלום באשראי חזר לעבוד.}) תתחיל ב־{3 בדצמ׳ 2026, 9:05}, בעוד {100} דקות. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} בעוד {100} דק׳: {התשלום באשראי חזר לעבוד.} (59 ucs2)",
    ),
    (
        "he",
        "maintenance-scheduled",
        1,
        "תחזוקה מתוכננת ב־{קופות} | תחזוקה מתוכננת ב־{קופות}: {התשלום באשראי חזר לעבוד.}. התחזוקה תתחיל ב־{3 בדצמ׳ 2026, 9:05} ותסתיים עד {3 בדצמ׳ 2026, 11:05}. ייתכן שהשירות לא יהיה זמין בזמן התחזוקה. | תחזוקה ב־{קופות} מ־{3 בדצמ׳ 2026, 9:05}: {התשלום באשראי חזר לעבוד.} (67 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        1,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד שעה אחת. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | אישור הרשמה: {https://status.example/c/Xy12} (44 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        2,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד שעתיים. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | אישור הרשמה: {https://status.example/c/Xy12} (44 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        11,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {11} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | אישור הרשמה: {https://status.example/c/Xy12} (44 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        20,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {20} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | אישור הרשמה: {https://status.example/c/Xy12} (44 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        100,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {100} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | אישור הרשמה: {https://status.example/c/Xy12} (44 ucs2)",
    ),
    (
        "he",
        "unsubscribe-footer",
        1,
        "קיבלתם הודעה זו כי נרשמתם לעדכונים. להסרה: {https://status.example/u/Xy12}",
    ),
    (
        "en",
        "notice-at-risk",
        1,
        "[breach] {Till 2 rejects cards}: {GDPR} notice due in {1} hour | Incident {ID} on {shop}: the {GDPR} notice {authority} to the authority is due at {Dec 3, 2026, 9:05\u{202f}AM}, in {1} hour, and is not filed yet. | Till 2 rejects cards: GDPR notice due in 1 h (44 gsm7)",
    ),
    (
        "en",
        "notice-at-risk",
        2,
        "[breach] {Till 2 rejects cards}: {GDPR} notice due in {2} hours | Incident {ID} on {shop}: the {GDPR} notice {authority} to the authority is due at {Dec 3, 2026, 9:05\u{202f}AM}, in {2} hours, and is not filed yet. | Till 2 rejects cards: GDPR notice due in 2 h (44 gsm7)",
    ),
    (
        "en",
        "notice-at-risk",
        11,
        "[breach] {Till 2 rejects cards}: {GDPR} notice due in {11} hours | Incident {ID} on {shop}: the {GDPR} notice {authority} to the authority is due at {Dec 3, 2026, 9:05\u{202f}AM}, in {11} hours, and is not filed yet. | Till 2 rejects cards: GDPR notice due in 11 h (45 gsm7)",
    ),
    (
        "en",
        "notice-at-risk",
        20,
        "[breach] {Till 2 rejects cards}: {GDPR} notice due in {20} hours | Incident {ID} on {shop}: the {GDPR} notice {authority} to the authority is due at {Dec 3, 2026, 9:05\u{202f}AM}, in {20} hours, and is not filed yet. | Till 2 rejects cards: GDPR notice due in 20 h (45 gsm7)",
    ),
    (
        "en",
        "notice-at-risk",
        100,
        "[breach] {Till 2 rejects cards}: {GDPR} notice due in {100} hours | Incident {ID} on {shop}: the {GDPR} notice {authority} to the authority is due at {Dec 3, 2026, 9:05\u{202f}AM}, in {100} hours, and is not filed yet. | Till 2 rejects cards: GDPR notice due in 100 h (46 gsm7)",
    ),
    (
        "en",
        "notice-overdue",
        1,
        "[breach] {Till 2 rejects cards}: {GDPR} notice overdue | Incident {ID} on {shop}: the {GDPR} notice {data-subjects} to the people affected was due at {Dec 3, 2026, 9:05\u{202f}AM} and is not filed. File it now, with the reasons for the delay where the law asks for them. | Till 2 rejects cards: GDPR notice OVERDUE (41 gsm7)",
    ),
    (
        "he",
        "notice-at-risk",
        1,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד שעה | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {authority} לרשות יש להגיש עד {3 בדצמ׳ 2026, 9:05}, בעוד שעה אחת. ההודעה עוד לא הוגשה. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד שעה (52 ucs2)",
    ),
    (
        "he",
        "notice-at-risk",
        2,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד שעתיים | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {authority} לרשות יש להגיש עד {3 בדצמ׳ 2026, 9:05}, בעוד שעתיים. ההודעה עוד לא הוגשה. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד שעתיים (55 ucs2)",
    ),
    (
        "he",
        "notice-at-risk",
        11,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {11} שעות | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {authority} לרשות יש להגיש עד {3 בדצמ׳ 2026, 9:05}, בעוד {11} שעות. ההודעה עוד לא הוגשה. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {11} שע׳ (57 ucs2)",
    ),
    (
        "he",
        "notice-at-risk",
        20,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {20} שעות | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {authority} לרשות יש להגיש עד {3 בדצמ׳ 2026, 9:05}, בעוד {20} שעות. ההודעה עוד לא הוגשה. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {20} שע׳ (57 ucs2)",
    ),
    (
        "he",
        "notice-at-risk",
        100,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {100} שעות | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {authority} לרשות יש להגיש עד {3 בדצמ׳ 2026, 9:05}, בעוד {100} שעות. ההודעה עוד לא הוגשה. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} בעוד {100} שע׳ (58 ucs2)",
    ),
    (
        "he",
        "notice-overdue",
        1,
        "[אירוע אבטחה] {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} באיחור | תקלה {ID} ב־{קופות}: את הודעת {GDPR} {data-subjects} לנפגעים היה צריך להגיש עד {3 בדצמ׳ 2026, 9:05}, והיא לא הוגשה. יש להגיש אותה עכשיו, עם הסיבות לעיכוב אם החוק דורש אותן. | {הקופה השנייה לא מקבלת אשראי}: הודעת {GDPR} באיחור (50 ucs2)",
    ),
    (
        "en",
        "shift-reminder",
        1,
        "You are on call for {shop} from {Dec 3, 2026, 9:05\u{202f}AM} | Your on-call shift for {shop} starts at {Dec 3, 2026, 9:05\u{202f}AM} and runs until {Dec 10, 2026, 9:05\u{202f}AM}. Keep your phone near you. | On call for {shop} from {Dec 3, 2026, 9:05\u{202f}AM} (46 ucs2)",
    ),
    (
        "he",
        "shift-reminder",
        1,
        "תורנות כוננות ב־{קופות} מ־{3 בדצמ׳ 2026, 9:05} | תורנות הכוננות שלך ב־{קופות} מתחילה ב־{3 בדצמ׳ 2026, 9:05} ונמשכת עד {10 בדצמ׳ 2026, 9:05}. כדאי להשאיר את הטלפון בהישג יד. | כוננות ב־{קופות} מ־{3 בדצמ׳ 2026, 9:05} (39 ucs2)",
    ),
];

const HE_TITLE: &str = "הקופה השנייה לא מקבלת אשראי";
const HE_TEXT: &str = "התשלום באשראי חזר לעבוד.";

#[test]
fn golden() {
    let catalogs = Catalogs::builder().build().unwrap();
    let mut checked = 0;
    for &(tag, id, n, expected) in GOLDEN {
        let (title, service, text) = match tag {
            "he" => (HE_TITLE, "קופות", HE_TEXT),
            _ => ("Till 2 rejects cards", "shop", "Card payments work again."),
        };
        let all = messages(facts(title, service), text, n);
        let message = all.iter().find(|m| m.id().as_str() == id).unwrap();
        let r = catalogs.render(tag, chrono_tz::Asia::Jerusalem, message);
        assert_eq!(r.locale, tag);
        assert_eq!(shown(&r), expected, "{tag} {id} {n}");
        checked += 1;
    }
    // Every message id, in both languages, and every count for those that have one.
    for id in MessageId::ALL {
        for tag in ["en", "he"] {
            let rows = GOLDEN
                .iter()
                .filter(|r| r.0 == tag && r.1 == id.as_str())
                .count();
            assert!(rows == 1 || rows == 5, "{tag} {id}: {rows} rows");
        }
    }
    assert_eq!(checked, GOLDEN.len());
}

// ---------------------------------------------------------------------------------------------
// Plural rules: ICU4X's, not fluent-bundle's.

/// A Hebrew catalog that offers `many`: CLDR's current Hebrew rules never choose it.
#[test]
fn hebrew_twenty_and_hundred_take_other_even_when_many_is_offered() {
    let ftl = "unsubscribe-footer =\n    .body = x { $link }\n\
               maintenance-reminder =\n    .subject = { PLURAL($minutes) ->\n        [one] ONE\n        [two] TWO\n        [many] MANY\n       *[other] OTHER\n    }\n    .body = b\n    .sms = s\n";
    let catalogs = Catalogs::builder()
        .override_messages("he", ftl, "many.ftl")
        .build()
        .unwrap();
    let subject = |n| {
        let m = Message::MaintenanceReminder {
            service: "s",
            what: "w",
            starts: at(),
            minutes: n,
        };
        catalogs.render("he", chrono_tz::UTC, &m).subject.unwrap()
    };
    assert_eq!(
        [1, 2, 11, 20, 30, 100].map(subject),
        ["ONE", "TWO", "OTHER", "OTHER", "OTHER", "OTHER"]
    );
}

// ---------------------------------------------------------------------------------------------
// Load errors.

fn load_error(tag: &str, ftl: &str) -> incidents::l10n::L10nError {
    Catalogs::builder()
        .override_messages(tag, ftl, "host.ftl")
        .build()
        .unwrap_err()
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let e = Catalogs::builder()
        .add_locale(
            "ru",
            "unsubscribe-footer =\n    .body = ok { $link }\n\nbroken = { $link ]\n\n-t = x\n",
            "ru.ftl",
        )
        .build()
        .unwrap_err();
    assert_eq!((e.file(), e.line()), ("ru.ftl", 4), "{e}");
    assert!(
        matches!(e.problem(), incidents::l10n::Problem::Syntax(_)),
        "{e}"
    );
    assert!(e.to_string().starts_with("ru.ftl:4:"), "{e}");
}

#[test]
fn an_unknown_variable_names_message_and_variable() {
    let e = load_error("en", "\nunsubscribe-footer =\n    .body = Bye { $name }\n");
    assert_eq!((e.file(), e.line(), e.column()), ("host.ftl", 3, 20), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("unsubscribe-footer") && text.contains("$name"),
        "{text}"
    );
    // In a selector's variant, too.
    let e = load_error(
        "he",
        "unsubscribe-footer =\n    .body = { PLURAL($count) ->\n       *[other] x\n    }\n",
    );
    assert!(e.to_string().contains("$count"), "{e}");
}

#[test]
fn an_override_of_a_message_the_crate_does_not_send_is_an_error() {
    let e = load_error("en", "unsubscribe-fooder =\n    .body = Bye\n");
    assert_eq!(e.line(), 1);
    assert!(
        e.to_string()
            .contains("unknown message `unsubscribe-fooder`"),
        "{e}"
    );
    // And an override for a locale that has no catalog.
    let e = load_error(
        "fr",
        "unsubscribe-footer =\n    .body = Au revoir { $link }\n",
    );
    assert!(e.to_string().contains("no catalog for `fr`"), "{e}");
}

#[test]
fn misuse_is_refused_at_load() {
    for (ftl, says) in [
        // A bare count as a selector would use fluent-bundle's plural rules.
        (
            "escalation =\n    .subject = { $minutes ->\n       *[other] x\n    }\n    .body = b\n    .sms = s\n",
            "PLURAL($minutes)",
        ),
        // A keyword is not inserted.
        (
            "escalation =\n    .subject = { $severity }\n    .body = b\n    .sms = s\n",
            "keyword",
        ),
        // Text given to PLURAL.
        (
            "escalation =\n    .subject = { PLURAL($title) ->\n       *[other] x\n    }\n    .body = b\n    .sms = s\n",
            "PLURAL takes a count",
        ),
        // A plural key that is not a CLDR category.
        (
            "escalation =\n    .subject = { PLURAL($minutes) ->\n        [several] x\n       *[other] y\n    }\n    .body = b\n    .sms = s\n",
            "[several]",
        ),
        // A number as a variant key.
        (
            "escalation =\n    .subject = { PLURAL($minutes) ->\n        [1] x\n       *[other] y\n    }\n    .body = b\n    .sms = s\n",
            "[1]",
        ),
        // Unknown term, message and function.
        (
            "escalation =\n    .subject = { -brand }\n    .body = b\n    .sms = s\n",
            "-brand",
        ),
        (
            "escalation =\n    .subject = { at-risk.subject }\n    .body = b\n    .sms = s\n",
            "`at-risk` needs",
        ),
        (
            "escalation =\n    .subject = { NUMBER($minutes) }\n    .body = b\n    .sms = s\n",
            "NUMBER()",
        ),
        (
            "escalation =\n    .subject = { nothing.body }\n    .body = b\n    .sms = s\n",
            "`nothing` does not exist",
        ),
        // A missing part, an unknown part.
        (
            "escalation =\n    .subject = x\n    .body = b\n",
            "lacks `.sms`",
        ),
        (
            "escalation =\n    .subject = x\n    .body = b\n    .sms = s\n    .smss = s\n",
            "no part `.smss`",
        ),
        // Bidi controls in the catalog's own text.
        (
            "escalation =\n    .subject = x \u{202E}y\n    .body = b\n    .sms = s\n",
            "U+202E",
        ),
        // A message that references itself in a loop.
        (
            "escalation =\n    .subject = { escalation.body }\n    .body = { escalation.subject }\n    .sms = s\n",
            "does not render",
        ),
        // Terms take no variables.
        ("-t = { $title }\n", "terms take no variables"),
        // Twice in one file.
        ("-t = a\n-t = b\n", "defined twice"),
    ] {
        let e = load_error("en", ftl);
        assert!(e.to_string().contains(says), "{ftl:?}: {e}");
    }
    // Well used, a term and a message reference load.
    Catalogs::builder()
        .override_messages(
            "en",
            "-shop = The Bakery\nunsubscribe-footer =\n    .body = { -shop }: { $link }\n\
             customer-update =\n    .subject = { -shop }: { $service }\n    .body = { $message }\n    .sms = { customer-update.subject }\n",
            "ok.ftl",
        )
        .build()
        .unwrap();
}

#[test]
fn a_second_catalog_for_a_locale_is_an_error() {
    let e = Catalogs::builder()
        .add_locale("HE", "", "he2.ftl")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("loaded already"), "{e}");
    let e = Catalogs::builder()
        .add_locale("not a tag!", "", "x.ftl")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not a locale tag"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Fallback to English, logged once.

mod logger {
    use std::sync::Mutex;

    pub static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            if record.level() == log::Level::Warn {
                LINES.lock().unwrap().push(record.args().to_string());
            }
        }
        fn flush(&self) {}
    }

    static CAPTURE: Capture = Capture;

    pub fn install() {
        // Another test may have installed it already.
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Warn);
    }
}

#[test]
fn a_missing_message_falls_back_to_english_logged_once() {
    logger::install();
    let ar = "unsubscribe-footer =\n    .body = لإلغاء الاشتراك: { $link }\n";
    let catalogs = Catalogs::builder()
        .add_locale("ar", ar, "ar.ftl")
        .build()
        .unwrap();
    let update = Message::CustomerUpdate {
        service: "shop",
        message: "back",
    };
    for _ in 0..3 {
        let r = catalogs.render("ar-EG", chrono_tz::UTC, &update);
        assert_eq!(r.locale, "en");
        assert_eq!(r.body, "\u{2068}back\u{2069}");
    }
    let footer = catalogs.render(
        "ar",
        chrono_tz::UTC,
        &Message::UnsubscribeFooter { link: "x" },
    );
    assert_eq!(
        (footer.locale.as_str(), footer.body.as_str()),
        ("ar", "لإلغاء الاشتراك: \u{2068}x\u{2069}")
    );
    let lines: Vec<String> = logger::LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("`ar-EG`"))
        .cloned()
        .collect();
    assert_eq!(
        lines,
        ["l10n: no `customer-update` message for locale `ar-EG`; it falls back to English"]
    );
    assert_eq!(
        catalogs.fallbacks(),
        [("ar-EG".to_string(), MessageId::CustomerUpdate)]
    );
}

// ---------------------------------------------------------------------------------------------
// Isolation.

#[test]
fn every_value_is_isolated_once() {
    let catalogs = Catalogs::builder().build().unwrap();
    let m = Message::FollowUpOverdue {
        incident: facts("Till", "shop"),
        action: "Fix it",
        owner: "דנה",
        due: at(),
        days: 1234,
    };
    let body = catalogs.render("en", chrono_tz::UTC, &m).body;
    for value in [
        "Fix it",
        "דנה",
        "1,234",
        "Dec 3, 2026, 7:05\u{202f}AM",
        "Till",
    ] {
        assert!(
            body.contains(&format!("\u{2068}{value}\u{2069}")),
            "{value}: {body}"
        );
    }
    assert!(
        !body.contains("\u{2068}\u{2068}") && !body.contains("\u{2069}\u{2069}"),
        "{body}"
    );
    assert_eq!(body.matches('\u{2068}').count(), 6, "{body}"); // action, id, title, due, days, owner
}

/// Whether embeddings, overrides and isolates are balanced and nested on every line.
fn balanced(text: &str) -> bool {
    let mut open = Vec::new();
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\u{1c}'..='\u{1e}' | '\u{85}' | '\u{2029}' if !open.is_empty() => {
                return false;
            }
            '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' => open.push('\u{202C}'),
            '\u{2066}'..='\u{2068}' => open.push('\u{2069}'),
            '\u{202C}' | '\u{2069}' if open.pop() != Some(c) => return false,
            _ => {}
        }
    }
    open.is_empty()
}

mod bidi_property {
    use super::*;
    use proptest::prelude::*;

    /// Strings heavy in bidirectional controls, marks, line breaks and Hebrew.
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            3 => prop::sample::select(vec![
                '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}',
                '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\n',
                '\r', '\u{2029}', 'א', 'ש', 'a', '1', ' ', '{', '}', '$',
            ]),
            1 => any::<char>(),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.into_iter().collect())
    }

    /// Built once: a build renders every message to check it.
    static SHIPPED: std::sync::LazyLock<Catalogs> =
        std::sync::LazyLock::new(|| Catalogs::builder().build().unwrap());

    proptest! {
        #[test]
        fn no_value_unbalances_a_message(title in hostile(), service in hostile(), text in hostile()) {
            let catalogs = &*SHIPPED;
            for tag in ["en", "he"] {
                for m in messages(facts(&title, &service), &text, 20) {
                    let r = catalogs.render(tag, chrono_tz::Asia::Jerusalem, &m);
                    let sms = r.sms.as_ref().map(|s| s.text.clone());
                    for part in r.subject.iter().chain([&r.body]).chain(sms.as_ref()) {
                        prop_assert!(balanced(part), "{} {}: {:?}", tag, m.id(), part);
                    }
                }
            }
            for value in [&title, &service, &text] {
                let isolated = incidents::l10n::isolate(value);
                prop_assert!(balanced(&isolated), "{:?} -> {:?}", value, isolated);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SMS.

#[test]
fn sms_segment_table() {
    use incidents::l10n::{Encoding::*, sms_segments};
    let cases: &[(String, incidents::l10n::Encoding, usize, usize)] = &[
        (String::new(), Gsm7, 0, 1),
        ("a".repeat(160), Gsm7, 160, 1),
        ("a".repeat(161), Gsm7, 161, 2),
        ("a".repeat(306), Gsm7, 306, 2),
        ("a".repeat(307), Gsm7, 307, 3),
        // Extension-table characters count two.
        ("€".repeat(80), Gsm7, 160, 1),
        (format!("{}€", "a".repeat(159)), Gsm7, 161, 2),
        ("[]{}\\^~|".to_string(), Gsm7, 16, 1),
        // Basic-set characters outside ASCII count one.
        (
            "£¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà".to_string(),
            Gsm7,
            38,
            1,
        ),
        // Anything else is UCS-2, in UTF-16 units.
        ("ש".repeat(70), Ucs2, 70, 1),
        ("ש".repeat(71), Ucs2, 71, 2),
        ("ש".repeat(134), Ucs2, 134, 2),
        ("ש".repeat(135), Ucs2, 135, 3),
        (format!("{}😀", "a".repeat(68)), Ucs2, 70, 1),
        (format!("{}😀", "a".repeat(69)), Ucs2, 71, 2),
        // An isolation mark makes an English text UCS-2 and counts one.
        ("\u{2068}Till 2\u{2069}".to_string(), Ucs2, 8, 1),
        (format!("\u{2068}{}\u{2069}", "a".repeat(68)), Ucs2, 70, 1),
        (format!("\u{2068}{}\u{2069}", "a".repeat(69)), Ucs2, 71, 2),
    ];
    for (text, encoding, chars, segments) in cases {
        let s = sms_segments(text);
        assert_eq!(
            (s.encoding, s.chars, s.segments),
            (*encoding, *chars, *segments),
            "{text:?}"
        );
    }
}

const TITLE_60_EN: &str = "Card terminal at till 2 rejects all contactless payments now";
const TITLE_60_HE: &str = "מסוף האשראי בקופה 2 דוחה את כל התשלומים בכרטיס ללא מגע, כעת!";

#[test]
fn shipped_sms_fit_one_segment_with_a_60_character_title() {
    assert_eq!(TITLE_60_EN.chars().count(), 60);
    assert_eq!(TITLE_60_HE.chars().count(), 60);
    let catalogs = Catalogs::builder().build().unwrap();
    let mut seen = 0;
    for (tag, title, service, text) in [
        ("en", TITLE_60_EN, "online shop", TITLE_60_EN),
        ("he", TITLE_60_HE, "חנות אונליין", TITLE_60_HE),
        // A Hebrew title in an English message, and the other way round.
        ("en", TITLE_60_HE, "online shop", TITLE_60_HE),
        ("he", TITLE_60_EN, "online shop", TITLE_60_EN),
    ] {
        for n in [1, 2, 11, 20, 100, 1440] {
            for m in messages(facts(title, service), text, n) {
                let r = catalogs.render(tag, chrono_tz::Asia::Jerusalem, &m);
                if let Some(sms) = r.sms {
                    assert_eq!(
                        sms.segments.segments,
                        1,
                        "{tag} {} {n}: {:?} {:?}",
                        m.id(),
                        sms.text,
                        sms.segments
                    );
                    assert!(balanced(&sms.text), "{:?}", sms.text);
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 4 * 6 * 11);
    // An English title keeps all of it in an English SMS (GSM-7, no isolation marks).
    let page = Message::Escalation {
        incident: facts(TITLE_60_EN, "online shop"),
        step: 1,
        minutes: 20,
    };
    let sms = catalogs.render("en", chrono_tz::UTC, &page).sms.unwrap();
    assert_eq!(
        sms.text,
        format!("CRITICAL: {TITLE_60_EN} (online shop) unacknowledged for 20 min, step 1")
    );
    assert_eq!(sms.segments.encoding, incidents::l10n::Encoding::Gsm7);
    // A Hebrew one is shortened to fit, inside its isolate.
    let page = Message::Escalation {
        incident: facts(TITLE_60_HE, "קופות"),
        step: 1,
        minutes: 20,
    };
    let sms = catalogs.render("he", chrono_tz::UTC, &page).sms.unwrap();
    assert!(
        sms.text.starts_with("קריטי: \u{2068}מסוף האשראי"),
        "{}",
        sms.text
    );
    assert!(
        sms.text
            .contains("...\u{2069} ללא מענה כבר \u{2068}20\u{2069} דק׳"),
        "{}",
        sms.text
    );
    assert!(
        sms.segments.chars <= 70 && sms.segments.chars >= 65,
        "{:?}",
        sms.segments
    );
}

/// A confirmation SMS carries a whole link: with a 24-character token after a 31-character
/// address (`https://status.example.co.il/c/`), the Hebrew one is exactly one UCS-2 segment
/// (70 characters, the two isolation marks included), and the English one one GSM-7 segment
/// even for a 60-character service name.
#[test]
fn a_confirmation_sms_with_a_real_link_fits_one_segment() {
    let catalogs = Catalogs::builder().build().unwrap();
    let link = "https://status.example.co.il/c/AbCdEfGhIjKlMnOpQrStUv-_";
    assert_eq!(link.chars().count(), 55);
    let service = "Online shop checkout, gift cards and the loyalty programme!";
    let message = |service| Message::SubscriptionConfirmation {
        service,
        link,
        expires: chrono::DateTime::UNIX_EPOCH,
        hours: 48,
    };
    let he = catalogs.render("he", chrono_tz::Asia::Jerusalem, &message("קופות ומשלוחים"));
    let sms = he.sms.unwrap();
    assert_eq!(sms.segments.chars, 70, "{:?}", sms.text);
    assert_eq!(sms.segments.segments, 1);
    let en = catalogs.render("en", chrono_tz::Asia::Jerusalem, &message(service));
    let sms = en.sms.unwrap();
    assert_eq!(sms.segments.encoding, incidents::l10n::Encoding::Gsm7);
    assert_eq!(sms.segments.segments, 1, "{:?}", sms.text);
}
