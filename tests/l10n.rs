//! The `l10n` feature: shipped catalogs (golden), bidi safety (property), load errors,
//! fallback logging and SMS segment counting.

use chrono::{DateTime, TimeZone, Utc};
use incidents::l10n::{Catalogs, IncidentFacts, Message, MessageId, Rendered};
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
        Message::SubscriptionConfirmation {
            service: f.service,
            link: "https://status.example/c/Xy12",
            expires: at(),
            hours: n,
        },
        Message::UnsubscribeFooter {
            link: "https://status.example/u/Xy12",
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
        "subscription-confirmation",
        1,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד שעה אחת. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | לאישור עדכונים על {קופות}: {https://status.example/c/Xy12} (58 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        2,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד שעתיים. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | לאישור עדכונים על {קופות}: {https://status.example/c/Xy12} (58 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        11,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {11} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | לאישור עדכונים על {קופות}: {https://status.example/c/Xy12} (58 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        20,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {20} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | לאישור עדכונים על {קופות}: {https://status.example/c/Xy12} (58 ucs2)",
    ),
    (
        "he",
        "subscription-confirmation",
        100,
        "אישור הרשמה לעדכונים על {קופות} | כדי לקבל עדכונים על {קופות}, אשרו את ההרשמה בקישור {https://status.example/c/Xy12}. הקישור בתוקף עד {3 בדצמ׳ 2026, 9:05}, עוד {100} שעות. אם לא ביקשתם להירשם, אפשר להתעלם מההודעה. | לאישור עדכונים על {קופות}: {https://status.example/c/Xy12} (58 ucs2)",
    ),
    (
        "he",
        "unsubscribe-footer",
        1,
        "קיבלתם הודעה זו כי נרשמתם לעדכונים. להסרה: {https://status.example/u/Xy12}",
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
