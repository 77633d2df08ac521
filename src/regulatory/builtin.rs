//! Built-in regimes, with their sources. **Not legal advice**: the deadlines below are
//! summaries of the cited texts as of late 2026; check them for your business and build your
//! own [`Regime`] where they differ.
//!
//! | function | regime | phases |
//! |---|---|---|
//! | [`gdpr`] | GDPR Art. 33 and 34 | authority 72 h (late needs reasons); data subjects "without undue delay" (target 72 h) |
//! | [`israel`] | Israel, Privacy Protection (Data Security) Regulations 2017, reg. 11 | authority 24 h target, 72 h at the latest (late needs reasons) |
//! | [`california`] | California Civil Code § 1798.82 | residents within 30 calendar days |
//! | [`card_brands`] | PCI DSS / Visa rules | acquirer immediately (target 24 h); account numbers within 10 business days |
//! | [`nis2`] | NIS2 Directive (EU) 2022/2555, Art. 23 | early warning 24 h, notification 72 h, final report 1 month |
//!
//! [`small_business`] is the default set for a small shop: every regime above but NIS2,
//! which largely excludes small and micro enterprises (Art. 2(1)).

use crate::regulatory::{Deadline, Phase, Recipient, Regime};

/// GDPR (Regulation (EU) 2016/679). Art. 33(1): notify the supervisory authority without
/// undue delay and, where feasible, within 72 hours of becoming aware; a later notification
/// gives the reasons for the delay; Art. 33(4) allows giving information in phases.
/// Art. 34(1): tell the data subjects without undue delay when the breach is likely to
/// result in a high risk to them. "Without undue delay" has no fixed period; this regime
/// sets a 72-hour target for it (an at-risk warning at 54 hours) — change it to your own.
pub fn gdpr() -> Regime {
    Regime::new(
        "gdpr",
        "GDPR personal data breach",
        "Regulation (EU) 2016/679, Art. 33 and 34",
        "Controllers of personal data of people in the EU; Art. 34 only when the risk to them is high",
    )
    .with_phase(
        Phase::new("authority", Recipient::Authority, Deadline::CalendarHours(72))
            .late_needs_reason()
            .with_content("the nature of the breach: categories and approximate number of people and records")
            .with_content("the name and contact details of the data protection officer or other contact")
            .with_content("the likely consequences of the breach")
            .with_content("the measures taken or proposed, including to mitigate its effects"),
    )
    .with_phase(
        Phase::new(
            "data-subjects",
            Recipient::DataSubjects,
            Deadline::Immediately { target_hours: 72 },
        )
        .with_content("in clear and plain language, the nature of the breach")
        .with_content("a contact point for more information")
        .with_content("the likely consequences and the measures taken or proposed"),
    )
}

/// Israel, Privacy Protection (Data Security) Regulations 5777-2017, regulation 11: a severe
/// security incident in a database of medium or high security level is reported to the
/// Privacy Protection Authority immediately; the Authority's reporting form asks for the
/// report within 24 hours of discovery and no later than 72 hours. Basic-level databases are
/// exempt. Modelled as a 24-hour target phase and a 72-hour limit that needs reasons when
/// late; filing the first report files the first phase only.
pub fn israel() -> Regime {
    Regime::new(
        "il-reg11",
        "Israel severe security incident",
        "Privacy Protection (Data Security) Regulations 5777-2017, reg. 11",
        "Databases of medium or high security level; basic-level databases are exempt",
    )
    .with_phase(
        Phase::new(
            "authority-24h",
            Recipient::Authority,
            Deadline::CalendarHours(24),
        )
        .with_content("the incident and the database affected")
        .with_content("the steps taken"),
    )
    .with_phase(
        Phase::new(
            "authority-72h",
            Recipient::Authority,
            Deadline::CalendarHours(72),
        )
        .late_needs_reason()
        .with_content("the complete report on the Authority's form"),
    )
}

/// California Civil Code § 1798.82: notice to affected California residents within 30
/// calendar days of discovering the breach (from 1 January 2026). Texas, Colorado, Florida,
/// New York and Washington also use 30 days; copy this regime with their citation.
pub fn california() -> Regime {
    Regime::new(
        "us-ca-1798.82",
        "California data breach notice",
        "California Civil Code § 1798.82",
        "Businesses holding computerized personal information of California residents",
    )
    .with_phase(
        Phase::new(
            "residents",
            Recipient::DataSubjects,
            Deadline::CalendarDays(30),
        )
        .with_content(
            "titled \"Notice of Data Breach\": what happened, what information was involved",
        )
        .with_content("what we are doing, what you can do, for more information"),
    )
}

/// Card brands (PCI DSS, Visa's "What To Do If Compromised"): notify the acquirer
/// immediately (modelled as a 24-hour target) and give the compromised account numbers
/// within 10 business days.
pub fn card_brands() -> Regime {
    Regime::new(
        "card-brands",
        "Card brands account data compromise",
        "PCI DSS; Visa What To Do If Compromised",
        "Merchants accepting payment cards",
    )
    .with_phase(
        Phase::new(
            "acquirer",
            Recipient::Acquirer,
            Deadline::Immediately { target_hours: 24 },
        )
        .with_content("that a compromise of card data is suspected or confirmed"),
    )
    .with_phase(
        Phase::new(
            "account-numbers",
            Recipient::Acquirer,
            Deadline::BusinessDays(10),
        )
        .with_content("every potentially compromised account number"),
    )
}

/// NIS2 Directive (EU) 2022/2555, Art. 23(4): an early warning within 24 hours of becoming
/// aware of a significant incident, an incident notification within 72 hours, a final
/// report within one month (modelled as 30 calendar days). Largely excludes small and micro
/// enterprises (Art. 2(1)), so [`small_business`] leaves it out.
pub fn nis2() -> Regime {
    Regime::new(
        "nis2",
        "NIS2 significant incident",
        "Directive (EU) 2022/2555, Art. 23",
        "Essential and important entities; small and micro enterprises are largely excluded",
    )
    .with_phase(Phase::new(
        "early-warning",
        Recipient::Authority,
        Deadline::CalendarHours(24),
    ))
    .with_phase(
        Phase::new(
            "notification",
            Recipient::Authority,
            Deadline::CalendarHours(72),
        )
        .with_content("an initial assessment: severity, impact, indicators of compromise"),
    )
    .with_phase(
        Phase::new(
            "final-report",
            Recipient::Authority,
            Deadline::CalendarDays(30),
        )
        .with_content(
            "a detailed description, the root cause, the mitigation, cross-border impact",
        ),
    )
}

/// The regimes a small shop starts from: [`gdpr`], [`israel`], [`california`] and
/// [`card_brands`]. Declare only those that apply to the breach at hand.
pub fn small_business() -> Vec<Regime> {
    vec![gdpr(), israel(), california(), card_brands()]
}

/// Every built-in regime, NIS2 included.
pub fn all() -> Vec<Regime> {
    let mut all = small_business();
    all.push(nis2());
    all
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_regime_is_valid() {
        for regime in super::all() {
            regime.validate().unwrap();
        }
        crate::regulatory::validate_all(&super::all()).unwrap();
    }
}
