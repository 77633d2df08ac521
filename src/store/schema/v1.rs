//! Schema 1: the event records every store has written since the first release.
//!
//! These types are private copies of the public event types, field for field, with the serde
//! attributes that give the JSON its shape. They change only together with a new schema
//! version (see ARCHITECTURE.md, "Storage schema"): renaming a public field or variant leaves
//! them, and so the stored bytes, alone.
//!
//! Strings are `Cow`s: encoding borrows from the event, decoding borrows from the input where
//! the JSON has no escapes. Every value a public constructor checks is checked again on the way
//! in, so a stored record can never build what the API would refuse.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;
use crate::lifecycle::{
    Audience, Change, Event, Impact, Notification, Recurrence, Resolution, Signal, SignalState,
    SlaTarget, Timer,
};
use crate::model::{Actor, IncidentId, Reporter, Role, Service, Source};
use crate::people::{FollowUpPlan, Money, Review, Score};
use crate::policy::Recipient;
use crate::severity::Severity;
use crate::text::{Text, Title};

// ---------------------------------------------------------------------------------------------
// Records

/// An [`Event`].
#[derive(Serialize)]
pub(super) struct EventRecord<'a> {
    at: DateTime<Utc>,
    actor: ActorRecord<'a>,
    change: ChangeRecord<'a>,
}

/// [`EventRecord`]'s decoder: derived, with the change internally tagged ([`TaggedChange`]).
/// It defines every result and every error of a decode.
#[derive(Deserialize)]
#[serde(remote = "EventRecord")]
struct TaggedEvent<'a> {
    #[serde(deserialize_with = "utc")]
    at: DateTime<Utc>,
    #[serde(borrow)]
    actor: ActorRecord<'a>,
    #[serde(borrow, with = "TaggedChange")]
    change: ChangeRecord<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for EventRecord<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        TaggedEvent::deserialize(deserializer)
    }
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
/// The fast decoder of an [`EventRecord`]: the change read in one pass when its `type` comes
/// first (as this crate writes it), without buffering the record as serde's internally
/// tagged enums do. It refuses whatever it does not take whole (its errors are never shown:
/// [`EventRecord::decode`] then runs [`TaggedEvent`]).
#[derive(Deserialize)]
#[serde(remote = "EventRecord")]
struct FastEvent<'a> {
    #[serde(deserialize_with = "utc")]
    at: DateTime<Utc>,
    #[serde(borrow)]
    actor: ActorRecord<'a>,
    #[serde(borrow, deserialize_with = "fast_change")]
    change: ChangeRecord<'a>,
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
impl<'a> EventRecord<'a> {
    /// Decodes a stored record: [`FastEvent`], and where it refuses, the derived decoder,
    /// whose result (a record or the error) is the answer. Both build the same records
    /// from the same bytes; the fast one takes the records this crate writes.
    pub(super) fn decode(bytes: &'a [u8]) -> Result<EventRecord<'a>, serde_json::Error> {
        // The record's UTF-8 checked once, whole, rather than string by string.
        if let Ok(text) = std::str::from_utf8(bytes) {
            let mut de = serde_json::Deserializer::from_str(text);
            if let Ok(record) = FastEvent::deserialize(&mut de)
                && de.end().is_ok()
            {
                return Ok(record);
            }
        }
        serde_json::from_slice(bytes)
    }
}

/// An [`Actor`].
#[derive(Serialize, Deserialize)]
struct ActorRecord<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    role: RoleRecord,
}

/// A [`Role`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RoleRecord {
    Owner,
    Responder,
    Support,
    Viewer,
    System,
}

/// A [`Severity`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SeverityRecord {
    Low,
    Medium,
    High,
    Critical,
}

/// An [`Impact`] (a public status page's).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ImpactRecord {
    None,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

/// A [`Source`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SourceRecord {
    Alert,
    CustomerReport,
    StaffReport,
    ProactiveCheck,
}

fn alert_origin() -> SourceRecord {
    SourceRecord::Alert
}

/// A [`Resolution`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ResolutionRecord {
    Fixed,
    Workaround,
    FalseAlarm,
    Duplicate { of: Uuid },
    AutoResolved,
}

/// A [`Recurrence`].
#[derive(Clone, Copy, Serialize, Deserialize)]
struct RecurrenceRecord {
    previous: Uuid,
    count: u32,
}

/// Defines [`ChangeRecord`] (encoded internally tagged: `{"type": "note_added", ...}`) and
/// its two decoders, with the same variants: [`TaggedChange`] (derived, internally tagged)
/// and [`ExternalChange`] (externally tagged, for [`fast_change`], which reads the tag itself).
macro_rules! change_records {
    ($($variants:tt)*) => {
        /// A [`Change`].
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum ChangeRecord<'a> {
            $($variants)*
        }

        /// [`ChangeRecord`]'s derived, internally tagged decoder.
        #[derive(Deserialize)]
        #[serde(remote = "ChangeRecord", tag = "type", rename_all = "snake_case")]
        enum TaggedChange<'a> {
            $($variants)*
        }

        /// [`ChangeRecord`]'s variants as an externally tagged enum, for [`fast_change`].
        #[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))]
        #[derive(Deserialize)]
        #[serde(remote = "ChangeRecord", rename_all = "snake_case")]
        enum ExternalChange<'a> {
            $($variants)*
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for ChangeRecord<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        TaggedChange::deserialize(deserializer)
    }
}

change_records! {
    Opened {
        id: Uuid,
        #[serde(borrow)]
        title: Cow<'a, str>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        description: Option<Cow<'a, str>>,
        severity: SeverityRecord,
        #[serde(borrow)]
        service: Cow<'a, str>,
        source: SourceRecord,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        alert_key: Option<Cow<'a, str>>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        idempotency_key: Option<Cow<'a, str>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recurrence: Option<RecurrenceRecord>,
    },
    Acknowledged,
    OwnerAssigned {
        #[serde(borrow)]
        owner: ActorRecord<'a>,
    },
    InvestigationStarted,
    RootCauseIdentified {
        #[serde(borrow)]
        root_cause: Cow<'a, str>,
    },
    Mitigated {
        #[serde(borrow)]
        action: Cow<'a, str>,
    },
    Resolved {
        resolution: ResolutionRecord,
    },
    Reopened {
        #[serde(borrow)]
        reason: Cow<'a, str>,
    },
    Closed {
        #[serde(borrow)]
        summary: Cow<'a, str>,
        #[serde(borrow)]
        lessons: Cow<'a, str>,
    },
    SeverityChanged {
        from: SeverityRecord,
        to: SeverityRecord,
        #[serde(borrow)]
        reason: Cow<'a, str>,
    },
    NoteAdded {
        #[serde(borrow)]
        text: Cow<'a, str>,
    },
    CustomerUpdatePosted {
        #[serde(borrow)]
        message: Cow<'a, str>,
    },
    VendorWaitStarted {
        #[serde(borrow)]
        vendor: Cow<'a, str>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        reference: Option<Cow<'a, str>>,
    },
    VendorWaitEnded {
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        note: Option<Cow<'a, str>>,
    },
    TimerFired {
        #[serde(borrow)]
        timer: TimerRecord<'a>,
    },
    ResponderAdded {
        #[serde(borrow)]
        responder: ActorRecord<'a>,
    },
    ResponderRemoved {
        #[serde(borrow)]
        responder: Cow<'a, str>,
    },
    TaskAdded {
        task: u32,
        #[serde(borrow)]
        title: Cow<'a, str>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        assignee: Option<Cow<'a, str>>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        playbook: Option<Cow<'a, str>>,
    },
    TaskAssigned {
        task: u32,
        #[serde(borrow)]
        assignee: Cow<'a, str>,
    },
    TaskCompleted {
        task: u32,
    },
    ReviewRecorded {
        #[serde(borrow)]
        review: ReviewRecord<'a>,
    },
    FollowUpCompleted {
        follow_up: u32,
    },
    FeedbackRecorded {
        score: u8,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        comment: Option<Cow<'a, str>>,
    },
    SignalReceived {
        #[serde(borrow)]
        signal: SignalRecord<'a>,
    },
    MergedInto {
        into: Uuid,
    },
    DuplicateMerged {
        duplicate: Uuid,
        #[serde(borrow)]
        title: Cow<'a, str>,
    },
    /// `impact: null` clears the override.
    ImpactSet {
        #[serde(default)]
        impact: Option<ImpactRecord>,
    },
    /// `title: null` withdraws the public title.
    PublicTitleSet {
        #[serde(borrow, default)]
        title: Option<Cow<'a, str>>,
    },
    BreachDeclared {
        regimes: Vec<RegimeRecord>,
        #[serde(deserialize_with = "utc")]
        became_aware: DateTime<Utc>,
    },
    BecameAwareSet {
        #[serde(deserialize_with = "utc")]
        from: DateTime<Utc>,
        #[serde(deserialize_with = "utc")]
        to: DateTime<Utc>,
        #[serde(borrow)]
        reason: Cow<'a, str>,
    },
    NoticeFiled {
        #[serde(borrow)]
        regime: Cow<'a, str>,
        #[serde(borrow)]
        phase: Cow<'a, str>,
        #[serde(borrow)]
        reference: Cow<'a, str>,
        #[serde(borrow)]
        summary: Cow<'a, str>,
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        late_reason: Option<Cow<'a, str>>,
    },
    NotificationRequested {
        #[serde(borrow)]
        notification: NotificationRecord<'a>,
    },
    NotificationDelivered {
        #[serde(borrow)]
        key: Cow<'a, str>,
    },
    NotificationFailed {
        #[serde(borrow)]
        key: Cow<'a, str>,
        attempt: u32,
        #[serde(borrow)]
        error: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<DateTime<Utc>>,
    },
}

/// An [`SlaTarget`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SlaTargetRecord {
    Acknowledge,
    Resolve,
    CustomerUpdate,
}

/// A [`Timer`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TimerRecord<'a> {
    Escalation {
        cycle: u32,
        round: u32,
        step: u32,
        #[serde(borrow)]
        notify: Vec<RecipientRecord<'a>>,
    },
    SlaAtRisk {
        target: SlaTargetRecord,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
    },
    SlaBreached {
        target: SlaTargetRecord,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
    },
    QuietPeriodOver {
        #[serde(deserialize_with = "utc")]
        last_signal: DateTime<Utc>,
    },
    FollowUpOverdue {
        follow_up: u32,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
        #[serde(borrow)]
        owner: Cow<'a, str>,
    },
    CustomerUpdateDue {
        #[serde(default)]
        cycle: u32,
        after_updates: u32,
        reminder: u32,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
    },
    NoticeAtRisk {
        #[serde(borrow)]
        regime: Cow<'a, str>,
        #[serde(borrow)]
        phase: Cow<'a, str>,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
    },
    NoticeOverdue {
        #[serde(borrow)]
        regime: Cow<'a, str>,
        #[serde(borrow)]
        phase: Cow<'a, str>,
        #[serde(deserialize_with = "utc")]
        due: DateTime<Utc>,
    },
}

/// A [`Regime`](crate::regulatory::Regime), phases included.
#[derive(Serialize, Deserialize)]
struct RegimeRecord {
    id: String,
    name: String,
    citation: String,
    scope: String,
    phases: Vec<PhaseRecord>,
}

/// A [`Phase`](crate::regulatory::Phase).
#[derive(Serialize, Deserialize)]
struct PhaseRecord {
    id: String,
    recipient: NoticeRecipientRecord,
    deadline: DeadlineRecord,
    late_needs_reason: bool,
    contents: Vec<String>,
}

/// A [`regulatory::Recipient`](crate::regulatory::Recipient).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum NoticeRecipientRecord {
    Authority,
    DataSubjects,
    Acquirer,
    Other(String),
}

/// A [`Deadline`](crate::regulatory::Deadline).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DeadlineRecord {
    CalendarHours(u32),
    CalendarDays(u32),
    BusinessDays(u32),
    Immediately { target_hours: u32 },
}

impl RegimeRecord {
    fn of(regime: &crate::regulatory::Regime) -> RegimeRecord {
        use crate::regulatory::{Deadline, Recipient};
        RegimeRecord {
            id: regime.id.clone(),
            name: regime.name.clone(),
            citation: regime.citation.clone(),
            scope: regime.scope.clone(),
            phases: regime
                .phases
                .iter()
                .map(|p| PhaseRecord {
                    id: p.id.clone(),
                    recipient: match &p.recipient {
                        Recipient::Authority => NoticeRecipientRecord::Authority,
                        Recipient::DataSubjects => NoticeRecipientRecord::DataSubjects,
                        Recipient::Acquirer => NoticeRecipientRecord::Acquirer,
                        Recipient::Other(name) => NoticeRecipientRecord::Other(name.clone()),
                    },
                    deadline: match p.deadline {
                        Deadline::CalendarHours(n) => DeadlineRecord::CalendarHours(n),
                        Deadline::CalendarDays(n) => DeadlineRecord::CalendarDays(n),
                        Deadline::BusinessDays(n) => DeadlineRecord::BusinessDays(n),
                        Deadline::Immediately { target_hours } => {
                            DeadlineRecord::Immediately { target_hours }
                        }
                    },
                    late_needs_reason: p.late_needs_reason,
                    contents: p.contents.clone(),
                })
                .collect(),
        }
    }

    fn into_regime(self) -> crate::regulatory::Regime {
        use crate::regulatory::{Deadline, Phase, Recipient, Regime};
        let mut regime = Regime::new(self.id, self.name, self.citation, self.scope);
        for p in self.phases {
            let recipient = match p.recipient {
                NoticeRecipientRecord::Authority => Recipient::Authority,
                NoticeRecipientRecord::DataSubjects => Recipient::DataSubjects,
                NoticeRecipientRecord::Acquirer => Recipient::Acquirer,
                NoticeRecipientRecord::Other(name) => Recipient::Other(name),
            };
            let deadline = match p.deadline {
                DeadlineRecord::CalendarHours(n) => Deadline::CalendarHours(n),
                DeadlineRecord::CalendarDays(n) => Deadline::CalendarDays(n),
                DeadlineRecord::BusinessDays(n) => Deadline::BusinessDays(n),
                DeadlineRecord::Immediately { target_hours } => {
                    Deadline::Immediately { target_hours }
                }
            };
            let mut phase = Phase::new(p.id, recipient, deadline);
            phase.late_needs_reason = p.late_needs_reason;
            phase.contents = p.contents;
            regime = regime.with_phase(phase);
        }
        regime
    }
}

/// A [`Recipient`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RecipientRecord<'a> {
    IncidentOwner,
    Person(#[serde(borrow)] Cow<'a, str>),
    Role(RoleRecord),
    Channel(#[serde(borrow)] Cow<'a, str>),
    OnCall(#[serde(borrow)] Cow<'a, str>),
}

/// An [`Audience`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AudienceRecord<'a> {
    Owner,
    Recipients(#[serde(borrow)] Vec<RecipientRecord<'a>>),
    Customers,
}

/// A [`Notification`].
#[derive(Serialize, Deserialize)]
struct NotificationRecord<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    /// Stored notifications are about an incident; written exactly as before when present,
    /// left out for one about no incident (never stored today, but it must not panic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    incident: Option<Uuid>,
    #[serde(borrow)]
    audience: AudienceRecord<'a>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
    #[serde(borrow)]
    body: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    locale: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    sms: Option<Cow<'a, str>>,
}

/// A [`Money`].
#[derive(Serialize, Deserialize)]
struct MoneyRecord<'a> {
    minor: u64,
    #[serde(borrow)]
    currency: Cow<'a, str>,
}

/// A [`FollowUpPlan`].
#[derive(Serialize, Deserialize)]
struct FollowUpRecord<'a> {
    #[serde(borrow)]
    title: Cow<'a, str>,
    #[serde(borrow)]
    owner: Cow<'a, str>,
    #[serde(deserialize_with = "utc")]
    due: DateTime<Utc>,
}

/// A [`Review`].
#[derive(Serialize, Deserialize)]
struct ReviewRecord<'a> {
    #[serde(borrow)]
    what_happened: Cow<'a, str>,
    #[serde(borrow)]
    root_cause: Cow<'a, str>,
    #[serde(default)]
    customers_affected: Option<u32>,
    #[serde(borrow, default)]
    lost_revenue: Option<MoneyRecord<'a>>,
    #[serde(borrow, default)]
    contributing_factors: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    went_well: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    lessons: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    follow_ups: Vec<FollowUpRecord<'a>>,
}

/// A [`SignalState`].
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SignalStateRecord {
    Firing,
    Resolved,
}

/// A [`Reporter`].
#[derive(Serialize, Deserialize)]
struct ReporterRecord<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    contact: Option<Cow<'a, str>>,
}

/// A [`Signal`].
#[derive(Serialize, Deserialize)]
struct SignalRecord<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(deserialize_with = "utc")]
    starts_at: DateTime<Utc>,
    state: SignalStateRecord,
    #[serde(borrow)]
    summary: Cow<'a, str>,
    #[serde(default = "alert_origin")]
    origin: SourceRecord,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    reporter: Option<ReporterRecord<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    description: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ends_at: Option<DateTime<Utc>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    group: Option<Cow<'a, str>>,
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
/// Reads a change record whose first key is `type`: the tag, then the rest of the map straight
/// into the variant ([`ExternalChange`]). Any other shape (`type` later or twice, a key or tag
/// with escapes, a unit variant with more keys) is refused, for the derived decoder to judge.
fn fast_change<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ChangeRecord<'a>, D::Error> {
    struct Visit<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
        type Value = ChangeRecord<'a>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a change record, its type first")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<ChangeRecord<'a>, A::Error> {
            if map.next_key::<&'de str>()? != Some("type") {
                return Err(serde::de::Error::custom("type is not the first key"));
            }
            let tag: &'de str = map.next_value()?;
            ExternalChange::deserialize(TaggedRest { tag, map })
        }
    }
    deserializer.deserialize_map(Visit(std::marker::PhantomData))
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
/// A change record's tag and the rest of its map, as an externally tagged enum.
struct TaggedRest<'de, A> {
    tag: &'de str,
    map: A,
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
impl<'de, A: serde::de::MapAccess<'de>> serde::Deserializer<'de> for TaggedRest<'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, A::Error> {
        Err(serde::de::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
impl<'de, A: serde::de::MapAccess<'de>> serde::de::EnumAccess<'de> for TaggedRest<'de, A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: serde::de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), A::Error> {
        let tag = serde::de::value::BorrowedStrDeserializer::new(self.tag);
        Ok((seed.deserialize(tag)?, self))
    }
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
impl<'de, A: serde::de::MapAccess<'de>> serde::de::VariantAccess<'de> for TaggedRest<'de, A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        match self.map.next_key::<serde::de::IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(serde::de::Error::custom("more keys")),
        }
    }

    fn newtype_variant_seed<T: serde::de::DeserializeSeed<'de>>(
        self,
        _: T,
    ) -> Result<T::Value, A::Error> {
        Err(serde::de::Error::custom("no newtype variants"))
    }

    fn tuple_variant<V: serde::de::Visitor<'de>>(
        self,
        _: usize,
        _: V,
    ) -> Result<V::Value, A::Error> {
        Err(serde::de::Error::custom("no tuple variants"))
    }

    fn struct_variant<V: serde::de::Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(RestOfMap { map: self.map })
    }
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
/// The keys after `type`, refusing a second `type` (the derived decoder reports it).
struct RestOfMap<A> {
    map: A,
}

#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))] // read by `schema::decode` only
impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for RestOfMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.map.next_key::<&'de str>()? {
            None => Ok(None),
            Some("type") => Err(serde::de::Error::custom("type twice")),
            Some(key) => seed
                .deserialize(serde::de::value::BorrowedStrDeserializer::new(key))
                .map(Some),
        }
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Deserializes a timestamp exactly as `DateTime<Utc>`'s own `Deserialize` does (RFC 3339
/// through `DateTime<FixedOffset>`'s `FromStr`, the same message for anything else), with a
/// fast path for the one form chrono writes for UTC (`2026-11-27T12:00:00Z`, with 1 to 9
/// fraction digits): it builds the same value without the general parser. Anything the fast
/// path does not take whole goes to chrono, so results and errors are chrono's.
fn utc<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    struct Visit;
    impl serde::de::Visitor<'_> for Visit {
        type Value = DateTime<Utc>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an RFC 3339 formatted date and time string")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<DateTime<Utc>, E> {
            if let Some(at) = utc_fast(value.as_bytes()) {
                return Ok(at);
            }
            value
                .parse::<DateTime<chrono::FixedOffset>>()
                .map(|at| at.with_timezone(&Utc))
                .map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visit)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with a valid date and time (no leap second), or `None`.
fn utc_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    fn digits(b: &[u8]) -> Option<u32> {
        b.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    }
    let b = b.strip_suffix(b"Z")?;
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            // Scaled to nanoseconds: one more zero for each digit short of nine.
            (fraction.len()..9).fold(digits(fraction)?, |n, _| n * 10)
        }
        _ => return None,
    };
    let year = i32::try_from(digits(&b[..4])?).ok()?;
    let [month, day, hour, minute, second] = [5, 8, 11, 14, 17].map(|at| digits(&b[at..at + 2]));
    let second = second.filter(|&s| s < 60)?;
    let date = chrono::NaiveDate::from_ymd_opt(year, month?, day?)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(hour?, minute?, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

// ---------------------------------------------------------------------------------------------
// Encoding: public types to records. Every `match` names every variant: a new one does not
// compile until it has a record.

fn s(value: &str) -> Cow<'_, str> {
    Cow::Borrowed(value)
}

fn opt(value: Option<&impl AsRef<str>>) -> Option<Cow<'_, str>> {
    value.map(|v| Cow::Borrowed(v.as_ref()))
}

impl<'a> EventRecord<'a> {
    /// The record of `event`, borrowing its strings.
    pub(super) fn of(event: &'a Event) -> EventRecord<'a> {
        EventRecord {
            at: event.at,
            actor: ActorRecord::of(&event.actor),
            change: ChangeRecord::of(&event.change),
        }
    }
}

impl<'a> ActorRecord<'a> {
    fn of(actor: &'a Actor) -> ActorRecord<'a> {
        ActorRecord {
            id: s(actor.id()),
            name: s(actor.name()),
            role: RoleRecord::of(actor.role()),
        }
    }
}

impl RoleRecord {
    fn of(role: Role) -> RoleRecord {
        match role {
            Role::Owner => RoleRecord::Owner,
            Role::Responder => RoleRecord::Responder,
            Role::Support => RoleRecord::Support,
            Role::Viewer => RoleRecord::Viewer,
            Role::System => RoleRecord::System,
        }
    }
}

impl SeverityRecord {
    fn of(severity: Severity) -> SeverityRecord {
        match severity {
            Severity::Low => SeverityRecord::Low,
            Severity::Medium => SeverityRecord::Medium,
            Severity::High => SeverityRecord::High,
            Severity::Critical => SeverityRecord::Critical,
        }
    }
}

impl ImpactRecord {
    fn of(impact: Impact) -> ImpactRecord {
        match impact {
            Impact::None => ImpactRecord::None,
            Impact::DegradedPerformance => ImpactRecord::DegradedPerformance,
            Impact::PartialOutage => ImpactRecord::PartialOutage,
            Impact::MajorOutage => ImpactRecord::MajorOutage,
        }
    }
}

impl SourceRecord {
    fn of(source: Source) -> SourceRecord {
        match source {
            Source::Alert => SourceRecord::Alert,
            Source::CustomerReport => SourceRecord::CustomerReport,
            Source::StaffReport => SourceRecord::StaffReport,
            Source::ProactiveCheck => SourceRecord::ProactiveCheck,
        }
    }
}

impl ResolutionRecord {
    fn of(resolution: Resolution) -> ResolutionRecord {
        match resolution {
            Resolution::Fixed => ResolutionRecord::Fixed,
            Resolution::Workaround => ResolutionRecord::Workaround,
            Resolution::FalseAlarm => ResolutionRecord::FalseAlarm,
            Resolution::Duplicate { of } => ResolutionRecord::Duplicate { of: *of.as_uuid() },
            Resolution::AutoResolved => ResolutionRecord::AutoResolved,
        }
    }
}

impl<'a> ChangeRecord<'a> {
    #[allow(
        clippy::too_many_lines,
        reason = "the exhaustive mapping from `Change` to its record: one arm per variant; a split would need a catch-all arm"
    )]
    fn of(change: &'a Change) -> ChangeRecord<'a> {
        match change {
            Change::Opened {
                id,
                title,
                description,
                severity,
                service,
                source,
                alert_key,
                idempotency_key,
                recurrence,
            } => ChangeRecord::Opened {
                id: *id.as_uuid(),
                title: s(title.as_str()),
                description: opt(description.as_ref()),
                severity: SeverityRecord::of(*severity),
                service: s(service.as_str()),
                source: SourceRecord::of(*source),
                alert_key: opt(alert_key.as_ref()),
                idempotency_key: opt(idempotency_key.as_ref()),
                recurrence: recurrence.map(|r| RecurrenceRecord {
                    previous: *r.previous.as_uuid(),
                    count: r.count,
                }),
            },
            Change::Acknowledged => ChangeRecord::Acknowledged,
            Change::OwnerAssigned { owner } => ChangeRecord::OwnerAssigned {
                owner: ActorRecord::of(owner),
            },
            Change::InvestigationStarted => ChangeRecord::InvestigationStarted,
            Change::RootCauseIdentified { root_cause } => ChangeRecord::RootCauseIdentified {
                root_cause: s(root_cause.as_str()),
            },
            Change::Mitigated { action } => ChangeRecord::Mitigated {
                action: s(action.as_str()),
            },
            Change::Resolved { resolution } => ChangeRecord::Resolved {
                resolution: ResolutionRecord::of(*resolution),
            },
            Change::Reopened { reason } => ChangeRecord::Reopened {
                reason: s(reason.as_str()),
            },
            Change::Closed { summary, lessons } => ChangeRecord::Closed {
                summary: s(summary.as_str()),
                lessons: s(lessons.as_str()),
            },
            Change::SeverityChanged { from, to, reason } => ChangeRecord::SeverityChanged {
                from: SeverityRecord::of(*from),
                to: SeverityRecord::of(*to),
                reason: s(reason.as_str()),
            },
            Change::NoteAdded { text } => ChangeRecord::NoteAdded {
                text: s(text.as_str()),
            },
            Change::CustomerUpdatePosted { message } => ChangeRecord::CustomerUpdatePosted {
                message: s(message.as_str()),
            },
            Change::VendorWaitStarted { vendor, reference } => ChangeRecord::VendorWaitStarted {
                vendor: s(vendor.as_str()),
                reference: opt(reference.as_ref()),
            },
            Change::VendorWaitEnded { note } => ChangeRecord::VendorWaitEnded {
                note: opt(note.as_ref()),
            },
            Change::TimerFired { timer } => ChangeRecord::TimerFired {
                timer: TimerRecord::of(timer),
            },
            Change::ResponderAdded { responder } => ChangeRecord::ResponderAdded {
                responder: ActorRecord::of(responder),
            },
            Change::ResponderRemoved { responder } => ChangeRecord::ResponderRemoved {
                responder: s(responder),
            },
            Change::TaskAdded {
                task,
                title,
                assignee,
                playbook,
            } => ChangeRecord::TaskAdded {
                task: *task,
                title: s(title.as_str()),
                assignee: opt(assignee.as_ref()),
                playbook: opt(playbook.as_ref()),
            },
            Change::TaskAssigned { task, assignee } => ChangeRecord::TaskAssigned {
                task: *task,
                assignee: s(assignee),
            },
            Change::TaskCompleted { task } => ChangeRecord::TaskCompleted { task: *task },
            Change::ReviewRecorded { review } => ChangeRecord::ReviewRecorded {
                review: ReviewRecord::of(review),
            },
            Change::FollowUpCompleted { follow_up } => ChangeRecord::FollowUpCompleted {
                follow_up: *follow_up,
            },
            Change::FeedbackRecorded { score, comment } => ChangeRecord::FeedbackRecorded {
                score: score.get(),
                comment: opt(comment.as_ref()),
            },
            Change::SignalReceived { signal } => ChangeRecord::SignalReceived {
                signal: SignalRecord::of(signal),
            },
            Change::MergedInto { into } => ChangeRecord::MergedInto {
                into: *into.as_uuid(),
            },
            Change::ImpactSet { impact } => ChangeRecord::ImpactSet {
                impact: impact.map(ImpactRecord::of),
            },
            Change::PublicTitleSet { title } => ChangeRecord::PublicTitleSet {
                title: opt(title.as_ref()),
            },
            Change::DuplicateMerged { duplicate, title } => ChangeRecord::DuplicateMerged {
                duplicate: *duplicate.as_uuid(),
                title: s(title.as_str()),
            },
            Change::BreachDeclared {
                regimes,
                became_aware,
            } => ChangeRecord::BreachDeclared {
                regimes: regimes.iter().map(RegimeRecord::of).collect(),
                became_aware: *became_aware,
            },
            Change::BecameAwareSet { from, to, reason } => ChangeRecord::BecameAwareSet {
                from: *from,
                to: *to,
                reason: s(reason.as_str()),
            },
            Change::NoticeFiled {
                regime,
                phase,
                reference,
                summary,
                late_reason,
            } => ChangeRecord::NoticeFiled {
                regime: s(regime),
                phase: s(phase),
                reference: s(reference.as_str()),
                summary: s(summary.as_str()),
                late_reason: opt(late_reason.as_ref()),
            },
            Change::NotificationRequested { notification } => ChangeRecord::NotificationRequested {
                notification: NotificationRecord::of(notification),
            },
            Change::NotificationDelivered { key } => {
                ChangeRecord::NotificationDelivered { key: s(key) }
            }
            Change::NotificationFailed {
                key,
                attempt,
                error,
                retry_at,
            } => ChangeRecord::NotificationFailed {
                key: s(key),
                attempt: *attempt,
                error: s(error),
                retry_at: *retry_at,
            },
        }
    }
}

impl SlaTargetRecord {
    fn of(target: SlaTarget) -> SlaTargetRecord {
        match target {
            SlaTarget::Acknowledge => SlaTargetRecord::Acknowledge,
            SlaTarget::Resolve => SlaTargetRecord::Resolve,
            SlaTarget::CustomerUpdate => SlaTargetRecord::CustomerUpdate,
        }
    }
}

impl<'a> TimerRecord<'a> {
    fn of(timer: &'a Timer) -> TimerRecord<'a> {
        match timer {
            Timer::Escalation {
                cycle,
                round,
                step,
                notify,
            } => TimerRecord::Escalation {
                cycle: *cycle,
                round: *round,
                step: *step,
                notify: notify.iter().map(RecipientRecord::of).collect(),
            },
            Timer::SlaAtRisk { target, due } => TimerRecord::SlaAtRisk {
                target: SlaTargetRecord::of(*target),
                due: *due,
            },
            Timer::SlaBreached { target, due } => TimerRecord::SlaBreached {
                target: SlaTargetRecord::of(*target),
                due: *due,
            },
            Timer::QuietPeriodOver { last_signal } => TimerRecord::QuietPeriodOver {
                last_signal: *last_signal,
            },
            Timer::FollowUpOverdue {
                follow_up,
                due,
                owner,
            } => TimerRecord::FollowUpOverdue {
                follow_up: *follow_up,
                due: *due,
                owner: s(owner),
            },
            Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                due,
            } => TimerRecord::CustomerUpdateDue {
                cycle: *cycle,
                after_updates: *after_updates,
                reminder: *reminder,
                due: *due,
            },
            Timer::NoticeAtRisk { regime, phase, due } => TimerRecord::NoticeAtRisk {
                regime: s(regime),
                phase: s(phase),
                due: *due,
            },
            Timer::NoticeOverdue { regime, phase, due } => TimerRecord::NoticeOverdue {
                regime: s(regime),
                phase: s(phase),
                due: *due,
            },
        }
    }
}

impl<'a> RecipientRecord<'a> {
    fn of(recipient: &'a Recipient) -> RecipientRecord<'a> {
        match recipient {
            Recipient::IncidentOwner => RecipientRecord::IncidentOwner,
            Recipient::Person(id) => RecipientRecord::Person(s(id)),
            Recipient::Role(role) => RecipientRecord::Role(RoleRecord::of(*role)),
            Recipient::Channel(name) => RecipientRecord::Channel(s(name)),
            Recipient::OnCall(schedule) => RecipientRecord::OnCall(s(schedule)),
        }
    }
}

impl<'a> NotificationRecord<'a> {
    fn of(notification: &'a Notification) -> NotificationRecord<'a> {
        NotificationRecord {
            key: s(&notification.key),
            incident: notification.incident.map(|id| *id.as_uuid()),
            audience: match &notification.audience {
                Audience::Owner => AudienceRecord::Owner,
                Audience::Recipients(recipients) => {
                    AudienceRecord::Recipients(recipients.iter().map(RecipientRecord::of).collect())
                }
                Audience::Customers => AudienceRecord::Customers,
            },
            channel: opt(notification.channel.as_ref()),
            subject: s(&notification.subject),
            body: s(&notification.body),
            locale: opt(notification.locale.as_ref()),
            sms: opt(notification.sms.as_ref()),
        }
    }
}

impl<'a> ReviewRecord<'a> {
    fn of(review: &'a Review) -> ReviewRecord<'a> {
        let texts = |list: &'a [Text]| list.iter().map(|t| s(t.as_str())).collect();
        ReviewRecord {
            what_happened: s(review.what_happened.as_str()),
            root_cause: s(review.root_cause.as_str()),
            customers_affected: review.customers_affected,
            lost_revenue: review.lost_revenue.as_ref().map(|m| MoneyRecord {
                minor: m.minor,
                currency: s(&m.currency),
            }),
            contributing_factors: texts(&review.contributing_factors),
            went_well: texts(&review.went_well),
            lessons: texts(&review.lessons),
            follow_ups: review
                .follow_ups
                .iter()
                .map(|f| FollowUpRecord {
                    title: s(f.title.as_str()),
                    owner: s(&f.owner),
                    due: f.due,
                })
                .collect(),
        }
    }
}

impl SignalStateRecord {
    fn of(state: SignalState) -> SignalStateRecord {
        match state {
            SignalState::Firing => SignalStateRecord::Firing,
            SignalState::Resolved => SignalStateRecord::Resolved,
        }
    }
}

impl<'a> SignalRecord<'a> {
    fn of(signal: &'a Signal) -> SignalRecord<'a> {
        SignalRecord {
            key: s(&signal.key),
            starts_at: signal.starts_at,
            state: SignalStateRecord::of(signal.state),
            summary: s(&signal.summary),
            origin: SourceRecord::of(signal.origin),
            reporter: signal.reporter.as_ref().map(|r| ReporterRecord {
                name: s(r.name()),
                contact: r.contact().map(|c| s(c.reveal())),
            }),
            description: opt(signal.description.as_ref()),
            labels: signal.labels.iter().map(|(k, v)| (s(k), s(v))).collect(),
            ends_at: signal.ends_at,
            group: opt(signal.group.as_ref()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding: records to public types, through the public constructors.

/// Checks and builds free text: the same rules as [`Text::new`].
fn text(field: &'static str, value: Cow<'_, str>) -> Result<Text, Invalid> {
    Text::new(field, value)
}

fn opt_text(field: &'static str, value: Option<Cow<'_, str>>) -> Result<Option<Text>, Invalid> {
    value.map(|v| text(field, v)).transpose()
}

fn owned(value: Option<Cow<'_, str>>) -> Option<String> {
    value.map(Cow::into_owned)
}

impl EventRecord<'_> {
    /// The event this record holds.
    ///
    /// # Errors
    /// [`Invalid`] for the first value a public constructor refuses.
    pub(super) fn into_event(self) -> Result<Event, Invalid> {
        Ok(Event {
            at: self.at,
            actor: self.actor.into_actor()?,
            change: self.change.into_change()?,
        })
    }
}

impl ActorRecord<'_> {
    /// The actor, through [`Actor::new`]; an actor this thread decoded lately is cloned (its
    /// strings shared) instead of checked and allocated again: a log names the same few
    /// people over and over.
    fn into_actor(self) -> Result<Actor, Invalid> {
        let role = self.role.into_role();
        // `Actor::new` is deterministic, and idempotent on its own output (the strings it keeps
        // are trimmed and checked): a record whose strings equal a decoded actor's, with the
        // same role, builds that actor.
        let cached = RECENT_ACTORS.with_borrow(|recent| {
            recent
                .actors
                .iter()
                .find(|a| a.role() == role && a.id() == self.id && a.name() == self.name)
                .cloned()
        });
        if let Some(actor) = cached {
            return Ok(actor);
        }
        let actor = Actor::new(self.id, self.name, role)?;
        RECENT_ACTORS.with_borrow_mut(|recent| recent.remember(&actor));
        Ok(actor)
    }
}

/// The actors a thread decoded lately, for [`ActorRecord::into_actor`].
struct RecentActors {
    actors: Vec<Actor>,
    /// The slot the next new actor replaces once `actors` is full.
    next: usize,
}

impl RecentActors {
    /// How many actors are remembered.
    const CAPACITY: usize = 16;

    fn remember(&mut self, actor: &Actor) {
        if self.actors.len() < Self::CAPACITY {
            self.actors.push(actor.clone());
        } else {
            self.actors[self.next] = actor.clone();
            self.next = (self.next + 1) % Self::CAPACITY;
        }
    }
}

thread_local! {
    static RECENT_ACTORS: std::cell::RefCell<RecentActors> = const {
        std::cell::RefCell::new(RecentActors {
            actors: Vec::new(),
            next: 0,
        })
    };
}

impl RoleRecord {
    fn into_role(self) -> Role {
        match self {
            RoleRecord::Owner => Role::Owner,
            RoleRecord::Responder => Role::Responder,
            RoleRecord::Support => Role::Support,
            RoleRecord::Viewer => Role::Viewer,
            RoleRecord::System => Role::System,
        }
    }
}

impl SeverityRecord {
    fn into_severity(self) -> Severity {
        match self {
            SeverityRecord::Low => Severity::Low,
            SeverityRecord::Medium => Severity::Medium,
            SeverityRecord::High => Severity::High,
            SeverityRecord::Critical => Severity::Critical,
        }
    }
}

impl ImpactRecord {
    fn into_impact(self) -> Impact {
        match self {
            ImpactRecord::None => Impact::None,
            ImpactRecord::DegradedPerformance => Impact::DegradedPerformance,
            ImpactRecord::PartialOutage => Impact::PartialOutage,
            ImpactRecord::MajorOutage => Impact::MajorOutage,
        }
    }
}

impl SourceRecord {
    fn into_source(self) -> Source {
        match self {
            SourceRecord::Alert => Source::Alert,
            SourceRecord::CustomerReport => Source::CustomerReport,
            SourceRecord::StaffReport => Source::StaffReport,
            SourceRecord::ProactiveCheck => Source::ProactiveCheck,
        }
    }
}

impl ResolutionRecord {
    fn into_resolution(self) -> Resolution {
        match self {
            ResolutionRecord::Fixed => Resolution::Fixed,
            ResolutionRecord::Workaround => Resolution::Workaround,
            ResolutionRecord::FalseAlarm => Resolution::FalseAlarm,
            ResolutionRecord::Duplicate { of } => Resolution::Duplicate {
                of: IncidentId::from_uuid(of),
            },
            ResolutionRecord::AutoResolved => Resolution::AutoResolved,
        }
    }
}

impl ChangeRecord<'_> {
    #[allow(
        clippy::too_many_lines,
        reason = "the exhaustive mapping from a record back to its `Change`: one arm per variant; a split would need a catch-all arm"
    )]
    fn into_change(self) -> Result<Change, Invalid> {
        Ok(match self {
            ChangeRecord::Opened {
                id,
                title,
                description,
                severity,
                service,
                source,
                alert_key,
                idempotency_key,
                recurrence,
            } => Change::Opened {
                id: IncidentId::from_uuid(id),
                title: Title::new(title)?,
                description: opt_text("description", description)?,
                severity: severity.into_severity(),
                service: Service::new(service)?,
                source: source.into_source(),
                alert_key: owned(alert_key),
                idempotency_key: owned(idempotency_key),
                recurrence: recurrence.map(|r| Recurrence {
                    previous: IncidentId::from_uuid(r.previous),
                    count: r.count,
                }),
            },
            ChangeRecord::Acknowledged => Change::Acknowledged,
            ChangeRecord::OwnerAssigned { owner } => Change::OwnerAssigned {
                owner: owner.into_actor()?,
            },
            ChangeRecord::InvestigationStarted => Change::InvestigationStarted,
            ChangeRecord::RootCauseIdentified { root_cause } => Change::RootCauseIdentified {
                root_cause: text("root cause", root_cause)?,
            },
            ChangeRecord::Mitigated { action } => Change::Mitigated {
                action: text("mitigation", action)?,
            },
            ChangeRecord::Resolved { resolution } => Change::Resolved {
                resolution: resolution.into_resolution(),
            },
            ChangeRecord::Reopened { reason } => Change::Reopened {
                reason: text("reason", reason)?,
            },
            ChangeRecord::Closed { summary, lessons } => Change::Closed {
                summary: text("summary", summary)?,
                lessons: text("lessons", lessons)?,
            },
            ChangeRecord::SeverityChanged { from, to, reason } => Change::SeverityChanged {
                from: from.into_severity(),
                to: to.into_severity(),
                reason: text("reason", reason)?,
            },
            ChangeRecord::NoteAdded { text: note } => Change::NoteAdded {
                text: text("note", note)?,
            },
            ChangeRecord::CustomerUpdatePosted { message } => Change::CustomerUpdatePosted {
                message: text("customer update", message)?,
            },
            ChangeRecord::VendorWaitStarted { vendor, reference } => Change::VendorWaitStarted {
                vendor: text("vendor", vendor)?,
                reference: opt_text("vendor reference", reference)?,
            },
            ChangeRecord::VendorWaitEnded { note } => Change::VendorWaitEnded {
                note: opt_text("vendor note", note)?,
            },
            ChangeRecord::TimerFired { timer } => Change::TimerFired {
                timer: timer.into_timer(),
            },
            ChangeRecord::ResponderAdded { responder } => Change::ResponderAdded {
                responder: responder.into_actor()?,
            },
            ChangeRecord::ResponderRemoved { responder } => Change::ResponderRemoved {
                responder: responder.into_owned(),
            },
            ChangeRecord::TaskAdded {
                task,
                title,
                assignee,
                playbook,
            } => Change::TaskAdded {
                task,
                title: Title::new(title)?,
                assignee: owned(assignee),
                playbook: owned(playbook),
            },
            ChangeRecord::TaskAssigned { task, assignee } => Change::TaskAssigned {
                task,
                assignee: assignee.into_owned(),
            },
            ChangeRecord::TaskCompleted { task } => Change::TaskCompleted { task },
            ChangeRecord::ReviewRecorded { review } => Change::ReviewRecorded {
                review: review.into_review()?,
            },
            ChangeRecord::FollowUpCompleted { follow_up } => {
                Change::FollowUpCompleted { follow_up }
            }
            ChangeRecord::FeedbackRecorded { score, comment } => Change::FeedbackRecorded {
                score: Score::new(score)?,
                comment: opt_text("comment", comment)?,
            },
            ChangeRecord::SignalReceived { signal } => Change::SignalReceived {
                signal: signal.into_signal()?,
            },
            ChangeRecord::MergedInto { into } => Change::MergedInto {
                into: IncidentId::from_uuid(into),
            },
            ChangeRecord::ImpactSet { impact } => Change::ImpactSet {
                impact: impact.map(ImpactRecord::into_impact),
            },
            ChangeRecord::PublicTitleSet { title } => Change::PublicTitleSet {
                title: title.map(Title::new).transpose()?,
            },
            ChangeRecord::DuplicateMerged { duplicate, title } => Change::DuplicateMerged {
                duplicate: IncidentId::from_uuid(duplicate),
                title: Title::new(title)?,
            },
            ChangeRecord::BreachDeclared {
                regimes,
                became_aware,
            } => Change::BreachDeclared {
                regimes: regimes.into_iter().map(RegimeRecord::into_regime).collect(),
                became_aware,
            },
            ChangeRecord::BecameAwareSet { from, to, reason } => Change::BecameAwareSet {
                from,
                to,
                reason: text("reason", reason)?,
            },
            ChangeRecord::NoticeFiled {
                regime,
                phase,
                reference,
                summary,
                late_reason,
            } => Change::NoticeFiled {
                regime: regime.into_owned(),
                phase: phase.into_owned(),
                reference: text("reference", reference)?,
                summary: text("summary", summary)?,
                late_reason: opt_text("late reason", late_reason)?,
            },
            ChangeRecord::NotificationRequested { notification } => Change::NotificationRequested {
                notification: notification.into_notification(),
            },
            ChangeRecord::NotificationDelivered { key } => Change::NotificationDelivered {
                key: key.into_owned(),
            },
            ChangeRecord::NotificationFailed {
                key,
                attempt,
                error,
                retry_at,
            } => Change::NotificationFailed {
                key: key.into_owned(),
                attempt,
                error: error.into_owned(),
                retry_at,
            },
        })
    }
}

impl SlaTargetRecord {
    fn into_target(self) -> SlaTarget {
        match self {
            SlaTargetRecord::Acknowledge => SlaTarget::Acknowledge,
            SlaTargetRecord::Resolve => SlaTarget::Resolve,
            SlaTargetRecord::CustomerUpdate => SlaTarget::CustomerUpdate,
        }
    }
}

impl TimerRecord<'_> {
    fn into_timer(self) -> Timer {
        match self {
            TimerRecord::Escalation {
                cycle,
                round,
                step,
                notify,
            } => Timer::Escalation {
                cycle,
                round,
                step,
                notify: notify
                    .into_iter()
                    .map(RecipientRecord::into_recipient)
                    .collect(),
            },
            TimerRecord::SlaAtRisk { target, due } => Timer::SlaAtRisk {
                target: target.into_target(),
                due,
            },
            TimerRecord::SlaBreached { target, due } => Timer::SlaBreached {
                target: target.into_target(),
                due,
            },
            TimerRecord::QuietPeriodOver { last_signal } => Timer::QuietPeriodOver { last_signal },
            TimerRecord::FollowUpOverdue {
                follow_up,
                due,
                owner,
            } => Timer::FollowUpOverdue {
                follow_up,
                due,
                owner: owner.into_owned(),
            },
            TimerRecord::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                due,
            } => Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                due,
            },
            TimerRecord::NoticeAtRisk { regime, phase, due } => Timer::NoticeAtRisk {
                regime: regime.into_owned(),
                phase: phase.into_owned(),
                due,
            },
            TimerRecord::NoticeOverdue { regime, phase, due } => Timer::NoticeOverdue {
                regime: regime.into_owned(),
                phase: phase.into_owned(),
                due,
            },
        }
    }
}

impl RecipientRecord<'_> {
    fn into_recipient(self) -> Recipient {
        match self {
            RecipientRecord::IncidentOwner => Recipient::IncidentOwner,
            RecipientRecord::Person(id) => Recipient::Person(id.into_owned()),
            RecipientRecord::Role(role) => Recipient::Role(role.into_role()),
            RecipientRecord::Channel(name) => Recipient::Channel(name.into_owned()),
            RecipientRecord::OnCall(schedule) => Recipient::OnCall(schedule.into_owned()),
        }
    }
}

impl NotificationRecord<'_> {
    fn into_notification(self) -> Notification {
        Notification {
            key: self.key.into_owned(),
            incident: self.incident.map(IncidentId::from_uuid),
            audience: match self.audience {
                AudienceRecord::Owner => Audience::Owner,
                AudienceRecord::Recipients(recipients) => Audience::Recipients(
                    recipients
                        .into_iter()
                        .map(RecipientRecord::into_recipient)
                        .collect(),
                ),
                AudienceRecord::Customers => Audience::Customers,
            },
            channel: owned(self.channel),
            subject: self.subject.into_owned(),
            body: self.body.into_owned(),
            locale: owned(self.locale),
            sms: owned(self.sms),
        }
    }
}

impl ReviewRecord<'_> {
    fn into_review(self) -> Result<Review, Invalid> {
        let texts = |field: &'static str, list: Vec<Cow<'_, str>>| {
            list.into_iter()
                .map(|t| text(field, t))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Review {
            what_happened: text("what happened", self.what_happened)?,
            root_cause: text("root cause", self.root_cause)?,
            customers_affected: self.customers_affected,
            // Not checked: `Money`'s fields are public, so any value could have been recorded.
            lost_revenue: self.lost_revenue.map(|m| Money {
                minor: m.minor,
                currency: m.currency.into_owned(),
            }),
            contributing_factors: texts("contributing factor", self.contributing_factors)?,
            went_well: texts("went well", self.went_well)?,
            lessons: texts("lesson", self.lessons)?,
            follow_ups: self
                .follow_ups
                .into_iter()
                .map(|f| {
                    Ok(FollowUpPlan {
                        title: Title::new(f.title)?,
                        owner: f.owner.into_owned(),
                        due: f.due,
                    })
                })
                .collect::<Result<Vec<_>, Invalid>>()?,
        })
    }
}

impl SignalStateRecord {
    fn into_state(self) -> SignalState {
        match self {
            SignalStateRecord::Firing => SignalState::Firing,
            SignalStateRecord::Resolved => SignalState::Resolved,
        }
    }
}

impl SignalRecord<'_> {
    fn into_signal(self) -> Result<Signal, Invalid> {
        let reporter = match self.reporter {
            None => None,
            Some(r) => {
                let reporter = Reporter::new(r.name)?;
                Some(match r.contact {
                    Some(contact) => reporter.with_contact(contact)?,
                    None => reporter,
                })
            }
        };
        Ok(Signal {
            key: self.key.into_owned(),
            starts_at: self.starts_at,
            state: self.state.into_state(),
            summary: self.summary.into_owned(),
            origin: self.origin.into_source(),
            reporter,
            description: opt_text("description", self.description)?,
            labels: self
                .labels
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            ends_at: self.ends_at,
            group: owned(self.group),
        })
    }
}

#[cfg(test)]
mod coverage {
    //! The committed fixture (`tests/fixtures/schema-v1`, checked byte for byte by
    //! `tests/it/schema.rs`) holds every variant of the records. The conversions above are
    //! exhaustive, so a new `Change` or `Timer` does not compile without a record; these tests
    //! fail until the fixture has an event of it.

    use std::collections::BTreeSet;

    use super::{ChangeRecord, TimerRecord};

    /// The variant names serde knows for a tagged record enum, read from its refusal of an
    /// unknown tag ("unknown variant `x`, expected one of `a`, `b`, …").
    fn variants<'de, T: serde::Deserialize<'de>>(unknown: &'de str) -> BTreeSet<String> {
        let Err(err) = serde_json::from_str::<T>(unknown) else {
            panic!("{unknown} was accepted");
        };
        let text = err.to_string();
        let listed = text
            .split_once("expected one of ")
            .map_or("", |(_, rest)| rest);
        let names: BTreeSet<String> = listed
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert!(names.len() > 3, "could not read the variants from {text:?}");
        names
    }

    /// Every value of `key` in the fixture's export, at any depth.
    fn fixture_values(key: &str) -> BTreeSet<String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/schema-v1/export.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("the committed fixture");
        let mut found = BTreeSet::new();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            collect(&value, key, &mut found);
        }
        found
    }

    fn collect(value: &serde_json::Value, key: &str, found: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == key
                        && let Some(s) = v.as_str()
                    {
                        found.insert(s.to_string());
                    }
                    collect(v, key, found);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, key, found)),
            _ => {}
        }
    }

    #[test]
    fn the_fixture_holds_every_change_variant() {
        let want = variants::<ChangeRecord<'_>>(r#"{"type":"no such variant"}"#);
        let have = fixture_values("type");
        let missing: Vec<_> = want.difference(&have).collect();
        assert!(missing.is_empty(), "no fixture event for {missing:?}");
    }

    #[test]
    fn the_fixture_holds_every_timer_kind() {
        let want = variants::<TimerRecord<'_>>(r#"{"kind":"no such variant"}"#);
        let have = fixture_values("kind");
        let missing: Vec<_> = want.difference(&have).collect();
        assert!(missing.is_empty(), "no fixture timer of kind {missing:?}");
    }
}

#[cfg(test)]
mod notification_incident {
    use super::NotificationRecord;
    use crate::lifecycle::{Audience, Notification};
    use crate::model::IncidentId;

    #[test]
    fn a_record_with_an_incident_is_written_as_before_and_one_without_does_not_panic() {
        let id = IncidentId::from_bytes([9; 16]);
        let with = Notification::new(id, "escalation/0/0", Audience::Owner, "s", "b");
        let json = serde_json::to_string(&NotificationRecord::of(&with)).expect("encodes");
        assert_eq!(
            json,
            r#"{"key":"09090909-0909-0909-0909-090909090909/escalation/0/0","incident":"09090909-0909-0909-0909-090909090909","audience":"owner","subject":"s","body":"b"}"#
        );
        let without =
            Notification::without_incident("oncall/x/reminder", Audience::Owner, "s", "b");
        let json = serde_json::to_string(&NotificationRecord::of(&without)).expect("encodes");
        assert!(!json.contains("incident"), "{json}");
        let back: NotificationRecord<'_> = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back.into_notification(), without);
    }
}

#[cfg(test)]
mod fast_decode {
    //! [`EventRecord::decode`]'s fast path against the derived decoder it stands in for: it
    //! takes every record the crate writes (the fixture's), builds the same events, and any
    //! other shape gets the derived decoder's answer, error text included.

    use super::{EventRecord, FastEvent, TaggedEvent};
    use crate::lifecycle::Event;

    /// Every event record in the committed fixture store, as stored.
    fn fixture_records() -> Vec<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/schema-v1/store/seg-00000001.log"
        );
        let bytes = std::fs::read(path).expect("the committed fixture");
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let mut records = Vec::new();
        let mut frame = 32;
        while frame < bytes.len() {
            let body = frame + 16;
            let end = body + word(frame);
            let mut at = body + 4;
            for _ in 0..word(body) {
                let count = word(at + 24);
                at += 28;
                for _ in 0..count {
                    let len = word(at);
                    records.push(bytes[at + 4..at + 4 + len].to_vec());
                    at += 4 + len;
                }
            }
            assert_eq!(at, end, "frame at {frame}");
            frame = end;
        }
        records
    }

    /// What the derived decoder makes of `bytes`: the event, or the error's text.
    fn derived(bytes: &[u8]) -> Result<Event, String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let record = TaggedEvent::deserialize(&mut de)
            .and_then(|record| de.end().map(|()| record))
            .map_err(|e| e.to_string())?;
        record.into_event().map_err(|e| e.to_string())
    }

    /// What [`EventRecord::decode`] makes of `bytes`, in the same terms.
    fn decoded(bytes: &[u8]) -> Result<Event, String> {
        let record = EventRecord::decode(bytes).map_err(|e| e.to_string())?;
        record.into_event().map_err(|e| e.to_string())
    }

    #[test]
    fn every_fixture_record_takes_the_fast_path_to_the_same_event() {
        let records = fixture_records();
        assert!(records.len() > 30, "{} records", records.len());
        for bytes in &records {
            let text = String::from_utf8_lossy(bytes);
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let fast = FastEvent::deserialize(&mut de).and_then(|r| de.end().map(|()| r));
            let fast = fast.unwrap_or_else(|e| panic!("fast path refused {text}: {e}"));
            assert_eq!(
                Ok(fast.into_event().unwrap()),
                derived(bytes),
                "fast path differs on {text}"
            );
        }
    }

    #[test]
    fn other_shapes_get_the_derived_decoders_answer() {
        let ack = br#"{"at":"2026-11-27T12:00:00Z","actor":{"id":"a","name":"A","role":"owner"},"change":{"type":"acknowledged"}}"#;
        let note = |change: &str| {
            format!(
                r#"{{"at":"2026-11-27T12:00:00.5Z","actor":{{"id":"a","name":"A","role":"owner"}},"change":{change}}}"#
            )
        };
        let cases = [
            note(r#"{"type":"note_added","text":"hi"}"#),
            note(r#"{"text":"hi","type":"note_added"}"#),
            note(r#"{"type":"note_added","text":"hi","type":"note_added"}"#),
            note(r#"{"type":"note_added","text":"hi","text":"again"}"#),
            note(r#"{"type":"note_added","text":"hi","extra":1}"#),
            note(r#"{"type":"note_added"}"#),
            note(r#"{"type":"note_added","text":" "}"#),
            note(r#"{"type":"note_added","text":5}"#),
            note(r#"{"type":"no_such_change"}"#),
            note(r#"{"type":"acknowledged","extra":1}"#),
            note(r#"{"type":"acknowledged","type":"acknowledged"}"#),
            note(r#"{"typ\u0065":"note_added","text":"hi"}"#),
            note(r#"{"type":"note_\u0061dded","te\u0078t":"h\u0069"}"#),
            note(r#"{"type":5}"#),
            note(r#"["note_added","hi"]"#),
            note("{}"),
            note("null"),
            note(
                r#"{"type":"resolved","resolution":{"duplicate":{"of":"00000000-0000-0000-0000-000000000000"}}}"#,
            ),
            note(r#"{"type":"severity_changed","from":"sev1","to":"sev9","reason":"r"}"#),
            String::from_utf8(ack.to_vec()).unwrap(),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("12:00:00Z", "12:00:60Z"),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("12:00:00Z", "12:00:00+02:00"),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("12:00:00Z", "12:00:00.1234567891Z"),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("12:00:00Z", "12:00:00.Z"),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("2026-11-27T", "2026-02-30T"),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("2026-11-27T", "2026-11-27 "),
            String::from_utf8(ack.to_vec())
                .unwrap()
                .replace("T12:00:00Z", "T25:00:00Z"),
            String::from_utf8(ack.to_vec()).unwrap() + " ",
            String::from_utf8(ack.to_vec()).unwrap() + "x",
        ];
        for case in &cases {
            assert_eq!(decoded(case.as_bytes()), derived(case.as_bytes()), "{case}");
        }
        // Text beyond ASCII, whole and cut inside a character.
        let hebrew = note(r#"{"type":"note_added","text":"הקופה חזרה לפעול"}"#);
        for cut in 0..=hebrew.len() {
            let bytes = &hebrew.as_bytes()[..cut];
            assert_eq!(decoded(bytes), derived(bytes), "cut at {cut}");
        }
        assert!(decoded(hebrew.as_bytes()).is_ok());
        // Every cut of a fixture record, and every byte of it replaced by a quote.
        for bytes in fixture_records().iter().take(12) {
            for cut in 0..bytes.len() {
                assert_eq!(decoded(&bytes[..cut]), derived(&bytes[..cut]));
                let mut changed = bytes.clone();
                changed[cut] = b'"';
                assert_eq!(decoded(&changed), derived(&changed));
            }
        }
    }

    #[test]
    fn timestamps_match_chronos_parser() {
        for text in [
            "2026-11-27T12:00:00Z",
            "2026-11-27T12:00:00.5Z",
            "2026-11-27T12:00:00.123456789Z",
            "2024-02-29T23:59:59.000001Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let chrono: chrono::DateTime<chrono::FixedOffset> = text.parse().unwrap();
            assert_eq!(
                super::utc_fast(text.as_bytes()),
                Some(chrono.to_utc()),
                "{text}"
            );
        }
        for text in [
            "2023-02-29T00:00:00Z",
            "2026-11-27T12:00:60Z",
            "2026-11-27t12:00:00Z",
            "2026-11-27T12:00:00z",
            "+2026-11-27T12:00:00Z",
            "2026-11-27T12:00:00.Z",
            "2026-11-27T12:00:00.1234567890Z",
            "2026-11-27T12:00:00+00:00",
            "2026-1-27T12:00:00Z",
        ] {
            assert_eq!(super::utc_fast(text.as_bytes()), None, "{text}");
        }
    }
}
