//! The final schedule as iCalendar (RFC 5545), written and read through `icalendar`.

use chrono::{DateTime, Utc};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};

use super::{Schedule, Shift, ShiftSource};

/// The property naming who is on call, for a program reading the export back.
const PERSON: &str = "X-INCIDENTS-PERSON";
/// The property naming where a shift comes from (`layer:NAME`, `swap:NAME`, `override`).
const SOURCE: &str = "X-INCIDENTS-SOURCE";

/// Why an iCalendar text could not be read back into shifts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IcalError {
    /// The text is not iCalendar.
    #[error("not an iCalendar text: {0}")]
    Syntax(String),
    /// An event lacks a UTC start or end, the person or the source, or names an unknown source.
    #[error("event {uid:?} is not a shift this crate wrote: {what}")]
    NotAShift {
        /// The event's UID, if it has one.
        uid: Option<String>,
        /// What is missing or wrong.
        what: &'static str,
    },
}

impl ShiftSource {
    fn tag(&self) -> String {
        match self {
            ShiftSource::Layer(name) => format!("layer:{name}"),
            ShiftSource::Swap(name) => format!("swap:{name}"),
            ShiftSource::Override => "override".to_string(),
        }
    }

    fn from_tag(tag: &str) -> Option<ShiftSource> {
        if tag == "override" {
            Some(ShiftSource::Override)
        } else if let Some(name) = tag.strip_prefix("layer:") {
            Some(ShiftSource::Layer(name.to_string()))
        } else {
            tag.strip_prefix("swap:")
                .map(|name| ShiftSource::Swap(name.to_string()))
        }
    }
}

/// FNV-1a, 64 bits: a hash that is the same in every build and on every machine (the
/// standard library's hashers promise neither).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

impl Schedule {
    /// A shift's UID in the export: the same schedule, source and start give the same UID, so
    /// a calendar app that subscribes to the export updates an event instead of adding a copy.
    pub fn shift_uid(&self, shift: &Shift) -> String {
        let key = format!("{}\u{0}{}", self.name, shift.source.tag());
        format!(
            "{:016x}-{}@oncall.incidents",
            fnv1a(key.as_bytes()),
            shift.start.format("%Y%m%dT%H%M%SZ")
        )
    }

    /// The final schedule over `[from, until)` as an iCalendar text: one VEVENT per shift,
    /// times in UTC, a stable UID ([`Schedule::shift_uid`]), the summary "On call: PERSON",
    /// and `stamp` as every event's DTSTAMP (the instant the export is made).
    pub fn to_ical(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        stamp: DateTime<Utc>,
    ) -> String {
        let mut calendar = icalendar::Calendar::new();
        calendar.name(&self.name);
        for shift in self.shifts(from, until) {
            let event = icalendar::Event::new()
                .uid(&self.shift_uid(&shift))
                .timestamp(stamp)
                .summary(&format!("On call: {}", shift.person))
                .starts(shift.start)
                .ends(shift.end)
                .add_property(PERSON, shift.person.as_str())
                .add_property(SOURCE, shift.source.tag())
                .done();
            calendar.push(event);
        }
        calendar.done().to_string()
    }
}

/// Reads shifts back from an iCalendar text written by [`Schedule::to_ical`], in the order of
/// its events.
///
/// # Errors
/// [`IcalError::Syntax`] if the text is not iCalendar; [`IcalError::NotAShift`] for an event
/// without a UTC start and end, the person or a known source.
pub fn shifts_from_ical(text: &str) -> Result<Vec<Shift>, IcalError> {
    let calendar: icalendar::Calendar = text.parse().map_err(IcalError::Syntax)?;
    let mut shifts = Vec::new();
    for event in calendar.events() {
        let uid = event.get_uid().map(str::to_string);
        let bad = |what| IcalError::NotAShift {
            uid: uid.clone(),
            what,
        };
        let utc = |d: Option<DatePerhapsTime>| match d {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => Some(t),
            _ => None,
        };
        let start = utc(event.get_start()).ok_or_else(|| bad("a start in UTC"))?;
        let end = utc(event.get_end()).ok_or_else(|| bad("an end in UTC"))?;
        let person = event
            .property_value(PERSON)
            .ok_or_else(|| bad("the person"))?;
        let source = event
            .property_value(SOURCE)
            .and_then(ShiftSource::from_tag)
            .ok_or_else(|| bad("the source"))?;
        shifts.push(Shift {
            person: person.to_string(),
            start,
            end,
            source,
        });
    }
    Ok(shifts)
}
