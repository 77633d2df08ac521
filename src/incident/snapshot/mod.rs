//! An incident as a projection snapshot holds it: every field of the fold, in a compact
//! binary layout ([`wire`]), read back without replaying a single event.
//!
//! The layout is the fold's own, so it changes whenever a part's fields change: every
//! struct is written by destructuring it whole (a new field does not compile until it is
//! written here), the desk's snapshot header carries [`FORMAT`](crate::desk) and the
//! crate's version, and a snapshot of another layout is ignored (the desk replays the log
//! instead). Derived data (the signals' occurrence index) is not stored; it is rebuilt on
//! reading. Actors, titles and services are kept once per snapshot, in tables before the
//! incidents: every incident that names one shares it in memory after reading, as it does
//! after a replay.

pub(crate) mod wire;

use chrono::{DateTime, Utc};

use super::Incident;
use super::clocks::{Clocks, FiredTimers, VendorWait};
use super::outbox::{Delivery, Outbox, OutboxEntry};
use super::people::People;
use super::record::{Entry, Record};
use super::signals::{SignalRecord, Signals};
use super::stage::{Closure, Progress, ResolutionRecord, Stage};
use crate::lifecycle::{
    Audience, Impact, Notification, Recurrence, Resolution, Signal, SignalState, SlaTarget,
};
use crate::model::{Reporter, Source};
use crate::people::Handover;
use crate::policy::Recipient;
use crate::regulatory::state::BreachPart;
use crate::severity::Severity;
use crate::store::Version;
use crate::text::Text;
use wire::{Bad, Reader, Wire, Writer, wire_unit_enum};

pub(crate) use wire::Tables;

/// Implements [`Wire`] for a struct, field by field in the order listed. The struct is
/// destructured whole, so a field added to it and not listed here does not compile.
macro_rules! wire_struct {
    ($ty:ty { $($field:ident),+ $(,)? }) => {
        impl Wire for $ty {
            fn put(&self, w: &mut Writer) {
                let Self { $($field),+ } = self;
                $($field.put(w);)+
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Bad> {
                Ok(Self { $($field: Wire::get(r)?),+ })
            }
        }
    };
}

/// Implements [`Wire`] for a type kept as JSON: parts an incident rarely has, where a layout
/// of their own would buy nothing.
macro_rules! wire_json {
    ($ty:ty, $what:literal) => {
        impl Wire for $ty {
            fn put(&self, w: &mut Writer) {
                // Plain data serializes to a Vec without failing; if it ever did, the empty
                // part would not read back and the snapshot would be ignored, never misread.
                let json = serde_json::to_vec(self).unwrap_or_default();
                w.uint(json.len() as u64);
                w.bytes(&json);
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, Bad> {
                let len = r.count()?;
                serde_json::from_slice(r.take(len)?)
                    .map_err(|e| format!(concat!($what, " does not read: {}"), e))
            }
        }
    };
}

/// Free text: written whole, checked again by [`Text::new`] on reading.
impl Wire for Text {
    fn put(&self, w: &mut Writer) {
        w.str(self.as_str());
    }
    fn get(r: &mut Reader<'_>) -> Result<Text, Bad> {
        Text::new("text", r.str()?).map_err(|e| e.to_string())
    }
}

impl Wire for Version {
    fn put(&self, w: &mut Writer) {
        w.uint(self.get());
    }
    fn get(r: &mut Reader<'_>) -> Result<Version, Bad> {
        r.uint().map(Version::new)
    }
}

wire_unit_enum!(
    Severity,
    "a severity",
    [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical
    ]
);
wire_unit_enum!(
    Source,
    "a source",
    [
        Source::Alert,
        Source::CustomerReport,
        Source::StaffReport,
        Source::ProactiveCheck
    ]
);
wire_unit_enum!(
    Impact,
    "an impact",
    [
        Impact::None,
        Impact::DegradedPerformance,
        Impact::PartialOutage,
        Impact::MajorOutage
    ]
);
wire_unit_enum!(
    SlaTarget,
    "an SLA target",
    [
        SlaTarget::Acknowledge,
        SlaTarget::Resolve,
        SlaTarget::CustomerUpdate
    ]
);
wire_unit_enum!(
    SignalState,
    "a signal state",
    [SignalState::Firing, SignalState::Resolved]
);

impl Wire for Resolution {
    fn put(&self, w: &mut Writer) {
        match self {
            Resolution::Fixed => w.byte(0),
            Resolution::Workaround => w.byte(1),
            Resolution::FalseAlarm => w.byte(2),
            Resolution::Duplicate { of } => {
                w.byte(3);
                of.put(w);
            }
            Resolution::AutoResolved => w.byte(4),
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Resolution, Bad> {
        Ok(match r.tag("a resolution", 4)? {
            0 => Resolution::Fixed,
            1 => Resolution::Workaround,
            2 => Resolution::FalseAlarm,
            3 => Resolution::Duplicate { of: Wire::get(r)? },
            _ => Resolution::AutoResolved,
        })
    }
}

impl Wire for Stage {
    fn put(&self, w: &mut Writer) {
        match self {
            Stage::Open => w.byte(0),
            Stage::Acknowledged => w.byte(1),
            Stage::Investigating => w.byte(2),
            Stage::Identified => w.byte(3),
            Stage::Monitoring => w.byte(4),
            Stage::Resolved { resolved } => {
                w.byte(5);
                resolved.put(w);
            }
            Stage::Closed { resolved, closure } => {
                w.byte(6);
                resolved.put(w);
                closure.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Stage, Bad> {
        Ok(match r.tag("a stage", 6)? {
            0 => Stage::Open,
            1 => Stage::Acknowledged,
            2 => Stage::Investigating,
            3 => Stage::Identified,
            4 => Stage::Monitoring,
            5 => Stage::Resolved {
                resolved: Wire::get(r)?,
            },
            _ => Stage::Closed {
                resolved: Wire::get(r)?,
                closure: Wire::get(r)?,
            },
        })
    }
}

impl Wire for Delivery {
    fn put(&self, w: &mut Writer) {
        let (tag, at) = match self {
            Delivery::Pending { next_attempt } => (0, next_attempt),
            Delivery::Delivered { at } => (1, at),
            Delivery::GaveUp { at } => (2, at),
        };
        w.byte(tag);
        at.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Delivery, Bad> {
        let tag = r.tag("a delivery", 2)?;
        let at = DateTime::<Utc>::get(r)?;
        Ok(match tag {
            0 => Delivery::Pending { next_attempt: at },
            1 => Delivery::Delivered { at },
            _ => Delivery::GaveUp { at },
        })
    }
}

impl Wire for Recipient {
    fn put(&self, w: &mut Writer) {
        match self {
            Recipient::IncidentOwner => w.byte(0),
            Recipient::Person(id) => {
                w.byte(1);
                id.put(w);
            }
            Recipient::Role(role) => {
                w.byte(2);
                role.put(w);
            }
            Recipient::Channel(name) => {
                w.byte(3);
                name.put(w);
            }
            Recipient::OnCall(schedule) => {
                w.byte(4);
                schedule.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Recipient, Bad> {
        Ok(match r.tag("a recipient", 4)? {
            0 => Recipient::IncidentOwner,
            1 => Recipient::Person(Wire::get(r)?),
            2 => Recipient::Role(Wire::get(r)?),
            3 => Recipient::Channel(Wire::get(r)?),
            _ => Recipient::OnCall(Wire::get(r)?),
        })
    }
}

impl Wire for Audience {
    fn put(&self, w: &mut Writer) {
        match self {
            Audience::Owner => w.byte(0),
            Audience::Recipients(list) => {
                w.byte(1);
                list.put(w);
            }
            Audience::Customers => w.byte(2),
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Audience, Bad> {
        Ok(match r.tag("an audience", 2)? {
            0 => Audience::Owner,
            1 => Audience::Recipients(Wire::get(r)?),
            _ => Audience::Customers,
        })
    }
}

wire_json!(Reporter, "a reporter");
wire_json!(super::people::Learned, "a review's lists");
wire_json!(crate::regulatory::state::Breach, "a breach");

wire_struct!(ResolutionRecord { at, by, resolution });
wire_struct!(Closure {
    at,
    by,
    summary,
    lessons
});
wire_struct!(Progress {
    stage,
    acknowledged_at,
    reopen_count,
    first_resolved_at,
    cycle_started_at,
    unresolved_before,
});
wire_struct!(VendorWait {
    vendor,
    reference,
    since,
    until
});
wire_struct!(FiredTimers {
    escalation,
    at_risk,
    breached,
    update_reminder,
});
wire_struct!(Clocks {
    resolve_clock,
    escalation_clock,
    vendor_waits,
    fired,
});
wire_struct!(Recurrence { previous, count });
wire_struct!(Signal {
    key,
    starts_at,
    state,
    summary,
    origin,
    reporter,
    description,
    labels,
    ends_at,
    group,
});
wire_struct!(SignalRecord {
    signal,
    received_at,
    by
});
wire_struct!(Entry { at, by, text });
wire_struct!(Record {
    root_cause,
    mitigations,
    notes,
    customer_updates,
});
wire_struct!(Handover { at, from, to, by });
wire_struct!(People {
    owner,
    responders,
    handovers,
    learned,
});
wire_struct!(Notification {
    key,
    incident,
    audience,
    channel,
    subject,
    body,
    locale,
    sms,
});
wire_struct!(OutboxEntry {
    notification,
    requested_at,
    attempts,
    delivery,
});
wire_struct!(Outbox { outbox });

impl Wire for BreachPart {
    fn put(&self, w: &mut Writer) {
        self.0.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<BreachPart, Bad> {
        Ok(BreachPart(Wire::get(r)?))
    }
}

/// The signals part, written field by field; its occurrence index is rebuilt on reading.
impl Wire for Signals {
    fn put(&self, w: &mut Writer) {
        let (alert_key, recurrence, signals, sources, merged, fired, unresolved) = self.stored();
        alert_key.put(w);
        recurrence.put(w);
        signals.put(w);
        sources.put(w);
        merged.put(w);
        fired.put(w);
        unresolved.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Signals, Bad> {
        Ok(Signals::read_back(
            Wire::get(r)?,
            Wire::get(r)?,
            Wire::get(r)?,
            Wire::get(r)?,
            Wire::get(r)?,
            Wire::get(r)?,
            Wire::get(r)?,
        ))
    }
}

wire_struct!(Incident {
    id,
    title,
    description,
    severity,
    service,
    source,
    opened_by,
    created_at,
    updated_at,
    idempotency_key,
    last_human_action_at,
    impact_override,
    public_title,
    version,
    progress,
    clocks,
    signals,
    people,
    record,
    outbox,
    breach,
});

/// Writes a snapshot's incidents: [`add`](SnapshotWriter::add) each, then
/// [`finish`](SnapshotWriter::finish) for the bytes.
#[derive(Default)]
pub(crate) struct SnapshotWriter {
    writer: Writer,
    incidents: u64,
}

impl SnapshotWriter {
    /// Appends one incident, as a record of its own.
    pub(crate) fn add(&mut self, incident: &Incident) {
        self.writer.record(|w| incident.put(w));
        self.incidents += 1;
    }

    /// Incidents added so far.
    pub(crate) fn incidents(&self) -> u64 {
        self.incidents
    }

    /// The tables, then the incidents' records.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.writer.finish()
    }
}

/// The records of a snapshot's incidents, cut into at most `pieces` runs of about equal
/// size at the record starts the payload lists (`starts`, from [`Tables::read`]), for
/// reading on several threads. A start that is not where a record begins makes the run
/// before it end inside a record, which does not read.
pub(crate) fn split_records<'r>(
    records: &'r [u8],
    starts: &[usize],
    pieces: usize,
) -> Vec<&'r [u8]> {
    let mut out = Vec::with_capacity(pieces);
    let mut from = 0;
    for n in 1..pieces.max(1) {
        let target = records.len() / pieces * n;
        let Some(&cut) = starts
            .iter()
            .find(|&&start| start >= target && start > from)
        else {
            break;
        };
        out.push(&records[from..cut]);
        from = cut;
    }
    out.push(&records[from..]);
    out
}

/// Reads every incident record of `records`, boxing each as the projection keeps it.
#[allow(
    clippy::vec_box,
    reason = "the boxes are what the projection keeps; the list is only their order"
)]
pub(crate) fn read_records(records: &[u8], tables: &Tables) -> Result<Vec<Box<Incident>>, Bad> {
    let mut reader = Reader::new(records, tables);
    let mut out = Vec::new();
    while !reader.rest().is_empty() {
        let mut record = reader.record()?;
        let incident = Incident::get(&mut record)?;
        if !record.rest().is_empty() {
            return Err(format!(
                "incident {} has {} bytes after its end",
                incident.id,
                record.rest().len()
            ));
        }
        out.push(Box::new(incident));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Change, Event};
    use crate::model::{Actor, Role};
    use proptest::prelude::*;

    /// Every kind of event the store's format fixture holds (one of each change, most
    /// options filled), to draw histories from.
    fn fixture_events() -> Vec<Event> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/schema-v1/export.jsonl"
        ))
        .unwrap();
        text.lines()
            .map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                serde_json::from_value(row["event"].clone()).unwrap()
            })
            .collect()
    }

    fn round_trip(incidents: &[Incident]) -> Vec<Incident> {
        let mut writer = SnapshotWriter::default();
        for incident in incidents {
            writer.add(incident);
        }
        let bytes = writer.finish();
        let (tables, _, records) = Tables::read(&bytes).unwrap();
        read_records(records, &tables)
            .unwrap()
            .into_iter()
            .map(|boxed| *boxed)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Incidents folded from random draws of every kind of event (the fold refusing
        /// what does not apply where it stands), by actors that share ids or names, with
        /// enough signals to build the occurrence index: written to one snapshot and read
        /// back, each equals its fold, and its signals are found through the rebuilt index.
        #[test]
        fn any_fold_reads_back_from_a_snapshot(
            histories in prop::collection::vec(
                (0usize..4, prop::collection::vec((0usize..120, 0usize..5, 0i64..5_000, 0i64..1_000), 0..120)),
                1..4,
            ),
        ) {
            let events = fixture_events();
            let openings: Vec<&Event> = events
                .iter()
                .filter(|e| matches!(e.change, Change::Opened { .. }))
                .collect();
            let actors = [
                Actor::new("dana", "Dana", Role::Owner).unwrap(),
                Actor::new("dana", "Dana B", Role::Responder).unwrap(),
                Actor::new("avi", "Avi", Role::Responder).unwrap(),
                Actor::new("noa", "נועה", Role::Support).unwrap(),
                Actor::system(),
            ];
            let mut incidents = Vec::new();
            for (n, (first, steps)) in histories.into_iter().enumerate() {
                // One snapshot holds them all: each its own id.
                let mut open = openings[first % openings.len()].clone();
                let Change::Opened { id, .. } = &mut open.change else { unreachable!() };
                let mut id_bytes = *id.as_uuid().as_bytes();
                id_bytes[15] ^= u8::try_from(n).unwrap();
                *id = crate::model::IncidentId::from_bytes(id_bytes);
                let id = *id;
                let mut incident = Incident::opened(id, &open).unwrap();
                let mut at = open.at;
                for (which, actor, seconds, nanos) in steps {
                    at = at + chrono::TimeDelta::seconds(seconds) + chrono::TimeDelta::nanoseconds(nanos);
                    let mut event = if let Some(event) = events.get(which) {
                        event.clone()
                    } else {
                        // Past the fixture: a signal, so that the occurrence index is built.
                        let key = format!("probe-{}", which % 7);
                        let offset = i64::try_from(which % 5).unwrap_or(0);
                        let starts = open.at + chrono::TimeDelta::seconds(offset);
                        let state = if which % 2 == 0 { SignalState::Firing } else { SignalState::Resolved };
                        Event::new(at, Actor::system(), Change::SignalReceived {
                            signal: Signal::new(key, starts, state, "Till offline"),
                        })
                    };
                    event.at = at;
                    event.actor = actors[actor].clone();
                    // Refused where it does not apply: the fold stays as it was.
                    let _ = incident.apply(&event);
                }
                incidents.push(incident);
            }
            let back = round_trip(&incidents);
            prop_assert_eq!(&back, &incidents);
            for (read, folded) in back.iter().zip(&incidents) {
                for record in &folded.signals.signals {
                    prop_assert!(read.signals.has(&record.signal));
                }
            }
        }
    }

    fn opened(n: u8) -> Incident {
        let id = crate::model::IncidentId::from_bytes([n; 16]);
        let at = DateTime::from_timestamp(1_800_000_000 + i64::from(n), 0).unwrap();
        let new = crate::lifecycle::NewIncident::new(
            "Till offline",
            Severity::High,
            "till",
            Source::StaffReport,
        )
        .unwrap();
        let owner = crate::model::Actor::new("dana", "Dana", crate::model::Role::Owner).unwrap();
        let open = crate::lifecycle::Command::Open { id, incident: new };
        let events = crate::lifecycle::decide(None, &open, &owner, at).unwrap();
        Incident::replay(id, &events).unwrap()
    }

    /// Split at the listed starts into any number of runs, the records read back whole and
    /// in order.
    #[test]
    fn records_split_at_their_listed_starts() {
        let incidents: Vec<Incident> = (0..=255u8)
            .cycle()
            .take(3 * STRIDE_USIZE + 17)
            .map(opened)
            .collect();
        let mut writer = SnapshotWriter::default();
        for incident in &incidents {
            writer.add(incident);
        }
        let bytes = writer.finish();
        let (tables, starts, records) = Tables::read(&bytes).unwrap();
        assert_eq!(starts.len(), 4);
        for pieces in 1..=6 {
            let runs = split_records(records, &starts, pieces);
            assert!(runs.len() <= pieces.min(4));
            let back: Vec<Incident> = runs
                .iter()
                .flat_map(|run| read_records(run, &tables).unwrap())
                .map(|boxed| *boxed)
                .collect();
            assert_eq!(back, incidents, "{pieces} pieces");
        }
        // A listed start that is not where a record begins: the run before it does not read.
        let mut wrong = starts.clone();
        for start in wrong.iter_mut().skip(1) {
            *start += 1;
        }
        let runs = split_records(records, &wrong, 2);
        assert!(runs.iter().any(|run| read_records(run, &tables).is_err()));
    }

    const STRIDE_USIZE: usize = 1024;
    const _: () = assert!(wire::STRIDE == 1024);

    #[test]
    fn every_bit_flip_of_a_record_reads_or_is_refused() {
        // Tested end to end in `tests/it/snapshots.rs`; here: the reader never panics on a
        // damaged record.
        let id = crate::model::IncidentId::from_bytes([7; 16]);
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let opened = crate::lifecycle::decide(
            None,
            &crate::lifecycle::Command::Open {
                id,
                incident: crate::lifecycle::NewIncident::new(
                    "Till offline",
                    Severity::High,
                    "till",
                    Source::StaffReport,
                )
                .unwrap(),
            },
            &crate::model::Actor::new("dana", "Dana", crate::model::Role::Owner).unwrap(),
            at,
        )
        .unwrap();
        let incident = Incident::replay(id, &opened).unwrap();
        let mut writer = SnapshotWriter::default();
        writer.add(&incident);
        let bytes = writer.finish();
        let (tables, starts, records) = Tables::read(&bytes).unwrap();
        assert_eq!(starts, [0]);
        let back = read_records(records, &tables).unwrap();
        assert_eq!(*back[0], incident);
        for i in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[i / 8] ^= 1 << (i % 8);
            if let Ok((tables, _, records)) = Tables::read(&damaged) {
                let _ = read_records(records, &tables);
            }
        }
    }
}
