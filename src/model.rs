//! The nouns of the domain: incident ids, services, actors and their roles, incident sources.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;
use crate::text::{check_line, code_point};

/// The identity of an incident: a UUID version 7, so ids sort by creation time.
///
/// New ids are made by the [`Desk`](crate::Desk): the first 48 bits are the desk's clock in
/// milliseconds, and the other 74 (all but the version and variant) are drawn afresh for each
/// id from a cryptographically secure generator seeded by the operating system (`uuid`'s
/// `fast-rng`: a thread-local ChaCha that reseeds itself). Two desks opening incidents at the
/// same instant make different ids, and no id can be computed from earlier ones. The
/// exception is an incident opened by an [`Alert`](crate::Alert): its id is derived from the
/// alert's key and start time, so that two desks sharing a store open it only once. Ids are
/// names, not secrets: knowing one grants nothing.
///
/// Parsing accepts any UUID in the usual text forms, so ids imported from elsewhere still
/// work.
///
/// ```
/// use incidents::IncidentId;
///
/// let id: IncidentId = "0190c8f4-6a3e-7c2d-9b1a-3f5e8d7c6b5a".parse()?;
/// assert_eq!(id.to_string(), "0190c8f4-6a3e-7c2d-9b1a-3f5e8d7c6b5a");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(Uuid);

impl IncidentId {
    /// A new version-7 id whose timestamp part is `at` in milliseconds (an instant before
    /// 1970 counts as 1970) and whose 74 remaining bits come from a cryptographically secure
    /// generator seeded by the operating system.
    pub fn new_v7(at: DateTime<Utc>) -> IncidentId {
        let (secs, nanos) = match u64::try_from(at.timestamp()) {
            Ok(secs) => (secs, at.timestamp_subsec_nanos()),
            Err(_) => (0, 0),
        };
        #[cfg(feature = "testing")]
        if let Some(bytes) = crate::testing::next_id_bytes() {
            let millis = secs * 1_000 + u64::from(nanos / 1_000_000);
            return IncidentId(
                uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid(),
            );
        }
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos);
        IncidentId(Uuid::new_v7(ts))
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> IncidentId {
        IncidentId(uuid)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// The 16 bytes of the UUID, big-endian, as stored on disk.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Builds an id from the 16 bytes returned by [`as_bytes`](Self::as_bytes).
    pub const fn from_bytes(bytes: [u8; 16]) -> IncidentId {
        IncidentId(Uuid::from_bytes(bytes))
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IncidentId({})", self.0.hyphenated())
    }
}

impl FromStr for IncidentId {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(IncidentId)
            .map_err(|e| Invalid::new("incident id", format!("not a UUID ({e})")))
    }
}

/// The longest service name accepted, in characters.
pub const SERVICE_MAX_CHARS: usize = 64;

/// What broke, named by the host: "online shop", "payments", "POS", "CRM".
///
/// A name is 1 to [`SERVICE_MAX_CHARS`] characters of letters, digits, spaces and
/// `- _ . / & + ( ) '`, starting with a letter or digit, with no doubled or surrounding spaces.
/// The left-to-right, right-to-left and arabic letter marks (U+200E, U+200F, U+061C) may
/// place digits and punctuation in RTL names; every other [one-line rule](crate::Title#text-rules)
/// holds too (no bidirectional embeddings, overrides or isolates). Names compare exactly as
/// written.
///
/// ```
/// use incidents::Service;
///
/// let pos = Service::new("POS")?;
/// assert_eq!(pos.as_str(), "POS");
/// assert!(Service::new("").is_err());
/// assert!(Service::new("shop\n").is_err());
/// assert!(Service::new("קופה 2\u{200F}").is_ok());
/// assert!(Service::new("shop\u{202E}").is_err());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service(Arc<str>);

impl Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Service;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a service name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Service, E> {
                Service::new(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visit)
    }
}

impl Service {
    /// Validates a service name.
    ///
    /// # Errors
    /// [`Invalid`] with field `service` naming the rule that was broken.
    pub fn new(name: impl AsRef<str>) -> Result<Service, Invalid> {
        let name = name.as_ref();
        check_line("service", name, SERVICE_MAX_CHARS)?;
        let bad = |rule: String| Err(Invalid::new("service", rule));
        let Some(first) = name.chars().next() else {
            return bad("must not be empty".into());
        };
        if !first.is_alphanumeric() {
            return Err(Invalid::new(
                "service",
                format!(
                    "must start with a letter or digit, not {}",
                    code_point(first)
                ),
            )
            .with_code_point(first));
        }
        if name.ends_with(' ') || name.contains("  ") {
            return bad("must not end with a space or contain doubled spaces".into());
        }
        if let Some(c) = name
            .chars()
            .find(|&c| !(c.is_alphanumeric() || " -_./&+()'\u{200E}\u{200F}\u{061C}".contains(c)))
        {
            return Err(Invalid::new(
                "service",
                format!(
                    "may contain only letters, digits, spaces, - _ . / & + ( ) ' and the \
                     direction marks U+200E, U+200F, U+061C, found {}",
                    code_point(c)
                ),
            )
            .with_code_point(c));
        }
        Ok(Service(Arc::from(name)))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Service({:?})", &*self.0)
    }
}

impl FromStr for Service {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::new(s)
    }
}

impl TryFrom<String> for Service {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Invalid> {
        Service::new(value)
    }
}

impl TryFrom<&str> for Service {
    type Error = Invalid;
    fn try_from(value: &str) -> Result<Self, Invalid> {
        Service::new(value)
    }
}

impl From<Service> for String {
    fn from(value: Service) -> String {
        String::from(&*value.0)
    }
}

/// Where an incident came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// An automatic alert from a monitoring system.
    Alert,
    /// A customer told the business (contact form, phone, e-mail).
    CustomerReport,
    /// Someone on the staff noticed it.
    StaffReport,
    /// A scheduled or proactive check found it before anyone was hurt.
    ProactiveCheck,
}

impl Source {
    /// All sources.
    pub const ALL: [Source; 4] = [
        Source::Alert,
        Source::CustomerReport,
        Source::StaffReport,
        Source::ProactiveCheck,
    ];

    /// The `snake_case` name used by `Display`, `FromStr` and serde.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Alert => "alert",
            Source::CustomerReport => "customer_report",
            Source::StaffReport => "staff_report",
            Source::ProactiveCheck => "proactive_check",
        }
    }
}

impl Source {
    /// Whether people reported it (a customer or staff), as opposed to a monitor or a check.
    pub const fn is_from_people(self) -> bool {
        matches!(self, Source::CustomerReport | Source::StaffReport)
    }
}

impl fmt::Display for Source {
    /// Words for people: `alert`, `customer report`, `staff report`, `proactive check`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Alert => "alert",
            Source::CustomerReport => "customer report",
            Source::StaffReport => "staff report",
            Source::ProactiveCheck => "proactive check",
        })
    }
}

impl FromStr for Source {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == wanted)
            .ok_or_else(|| {
                Invalid::new(
                    "source",
                    format!(
                        "unknown source {s:?}; expected alert, customer_report, staff_report or proactive_check"
                    ),
                )
            })
    }
}

/// What a person (or the system) does in incident handling. Permissions hang off roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The incident manager: leads incidents from report to closure.
    Owner,
    /// A member of the technical team.
    Responder,
    /// Customer service: prioritises reports and keeps customers informed.
    Support,
    /// May read, nothing else.
    Viewer,
    /// The crate itself or an automated integration (alert ingestion, timers).
    System,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Responder,
        Role::Support,
        Role::Viewer,
        Role::System,
    ];

    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Responder => "responder",
            Role::Support => "support",
            Role::Viewer => "viewer",
            Role::System => "system",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == wanted)
            .ok_or_else(|| {
                Invalid::new(
                    "role",
                    format!(
                        "unknown role {s:?}; expected owner, responder, support, viewer or system"
                    ),
                )
            })
    }
}

/// The longest actor id accepted, in characters.
pub const ACTOR_ID_MAX_CHARS: usize = 64;
/// The longest actor display name accepted, in characters.
pub const ACTOR_NAME_MAX_CHARS: usize = 100;

/// Who did something: a stable id (e-mail, login, employee number), a display name, a role.
///
/// Both id and name follow the [one-line rules](crate::Title#text-rules) (no bidirectional
/// embeddings, overrides or isolates; not only invisible characters); the id has no white
/// space either. Every recorded event carries the actor that caused it. Cheap to clone.
///
/// ```
/// use incidents::{Actor, Role};
///
/// let dana = Actor::new("dana@bakery.example", "Dana", Role::Owner)?;
/// assert_eq!(dana.to_string(), "Dana (owner)");
/// assert!(Actor::new("has space", "X", Role::Viewer).is_err());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Actor(Arc<ActorData>);

/// An actor's fields, behind one pointer: an actor is named in every event and many times in
/// every incident (who opened, owns, resolved, closed it, who wrote each note), and one shared
/// allocation keeps each of those mentions at 8 bytes and a clone at one count.
#[derive(PartialEq, Eq, Hash)]
struct ActorData {
    id: Box<str>,
    name: Box<str>,
    role: Role,
}

impl Actor {
    /// Validates and builds an actor.
    ///
    /// # Errors
    /// [`Invalid`] with field `actor id` if `id` breaks the
    /// [one-line rules](crate::Title#text-rules), is longer than [`ACTOR_ID_MAX_CHARS`] or
    /// contains white space; with field `actor name` if `name` breaks the one-line rules or
    /// is longer than [`ACTOR_NAME_MAX_CHARS`].
    pub fn new(id: impl AsRef<str>, name: impl AsRef<str>, role: Role) -> Result<Actor, Invalid> {
        let id = check_actor_id("actor id", id.as_ref())?;
        let name = check_line("actor name", name.as_ref(), ACTOR_NAME_MAX_CHARS)?;
        Ok(Actor(Arc::new(ActorData {
            id: Box::from(id),
            name: Box::from(name),
            role,
        })))
    }

    /// The crate's own actor, used for automatic actions (timers, ingestion).
    pub fn system() -> Actor {
        Actor(Arc::new(ActorData {
            id: Box::from("system"),
            name: Box::from("System"),
            role: Role::System,
        }))
    }

    /// The stable id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.0.role
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0.name, self.0.role)
    }
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Actor({:?}, {:?}, {})",
            &*self.0.id, &*self.0.name, self.0.role
        )
    }
}

#[derive(Serialize)]
struct ActorOut<'a> {
    id: &'a str,
    name: &'a str,
    role: Role,
}

#[derive(Deserialize)]
struct ActorIn<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    name: std::borrow::Cow<'a, str>,
    role: Role,
}

impl Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ActorOut {
            id: &self.0.id,
            name: &self.0.name,
            role: self.0.role,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = ActorIn::deserialize(d)?;
        Actor::new(raw.id, raw.name, raw.role).map_err(serde::de::Error::custom)
    }
}

/// `id` if it is an actor id: the [one-line rules](crate::Title#text-rules), at most
/// [`ACTOR_ID_MAX_CHARS`] characters, no white space (so not trimmed either).
pub(crate) fn check_actor_id<'v>(field: &'static str, id: &'v str) -> Result<&'v str, Invalid> {
    check_line(field, id, ACTOR_ID_MAX_CHARS)?;
    if let Some(c) = id.chars().find(|c| c.is_whitespace()) {
        return Err(Invalid::new(
            field,
            format!("must not contain white space, found {}", code_point(c)),
        )
        .with_code_point(c));
    }
    Ok(id)
}

/// The longest reporter name or contact accepted, in characters.
pub const REPORTER_MAX_CHARS: usize = 200;

fn one_line(field: &'static str, value: &str) -> Result<Arc<str>, Invalid> {
    check_line(field, value, REPORTER_MAX_CHARS).map(Arc::from)
}

/// How to reach a person who reported a problem: an e-mail address, a phone number, an order
/// number the shop can look up — whatever the host collects. One line, at most
/// [`REPORTER_MAX_CHARS`] characters, following the [one-line rules](crate::Title#text-rules).
///
/// Contact details are personal data. They are kept with the report, in the incident's
/// history (so the shop can answer the customer), but **never shown in logs**: `Debug` prints
/// `Contact(<redacted>)`, there is no `Display`, and timelines
/// ([`Change::describe`](crate::Change::describe)) leave them out. Read them with
/// [`Contact::reveal`]. The history is append-only: the crate cannot yet erase a contact from
/// it on request, so collect only what the shop needs to answer.
///
/// ```
/// use incidents::intake::Contact;
///
/// let contact = Contact::new("dana@example.com")?;
/// assert_eq!(format!("{contact:?}"), "Contact(<redacted>)");
/// assert_eq!(contact.reveal(), "dana@example.com");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Contact(Arc<str>);

impl Contact {
    /// Validates a contact.
    ///
    /// # Errors
    /// [`Invalid`] with field `contact` if it is too long or breaks the
    /// [one-line rules](crate::Title#text-rules).
    pub fn new(contact: impl AsRef<str>) -> Result<Contact, Invalid> {
        one_line("contact", contact.as_ref()).map(Contact)
    }

    /// The contact details themselves. Named so that every place that shows them is easy to
    /// find.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Contact(<redacted>)")
    }
}

impl Serialize for Contact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Contact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Contact::new(raw).map_err(serde::de::Error::custom)
    }
}

/// Who reported a problem: a customer who wrote in, a member of staff who noticed it. Their
/// name is shown on the incident's timeline; their [`Contact`] is kept but never shown. Both
/// follow the [one-line rules](crate::Title#text-rules).
///
/// ```
/// use incidents::intake::Reporter;
///
/// let dana = Reporter::new("Dana Levi")?.with_contact("dana@example.com")?;
/// assert_eq!(dana.to_string(), "Dana Levi");
/// assert!(!format!("{dana:?}").contains("example.com"));
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reporter {
    name: ReporterName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact: Option<Contact>,
}

/// A reporter's validated name (its own type so deserialisation validates it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
struct ReporterName(Arc<str>);

impl<'de> Deserialize<'de> for ReporterName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<'de, str>::deserialize(d)?;
        one_line("reporter name", &raw)
            .map(ReporterName)
            .map_err(serde::de::Error::custom)
    }
}

impl Reporter {
    /// A reporter known by `name` (as they gave it, or as the host knows them).
    ///
    /// # Errors
    /// [`Invalid`] with field `reporter name` if it is longer than [`REPORTER_MAX_CHARS`] or
    /// breaks the [one-line rules](crate::Title#text-rules).
    pub fn new(name: impl AsRef<str>) -> Result<Reporter, Invalid> {
        Ok(Reporter {
            name: ReporterName(one_line("reporter name", name.as_ref())?),
            contact: None,
        })
    }

    /// The same reporter, with a way to reach them.
    ///
    /// # Errors
    /// [`Invalid`] with field `contact`, as for [`Contact::new`].
    pub fn with_contact(mut self, contact: impl AsRef<str>) -> Result<Reporter, Invalid> {
        self.contact = Some(Contact::new(contact)?);
        Ok(self)
    }

    /// Their name.
    pub fn name(&self) -> &str {
        &self.name.0
    }

    /// How to reach them, if they said.
    pub fn contact(&self) -> Option<&Contact> {
        self.contact.as_ref()
    }
}

impl fmt::Display for Reporter {
    /// The name only: contact details are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reporters_validate_and_never_show_their_contact() {
        let dana = Reporter::new(" Dana ")
            .unwrap()
            .with_contact("+972 50 123 4567")
            .unwrap();
        assert_eq!(dana.name(), "Dana");
        assert!(!format!("{dana:?}{dana}").contains("123"));
        let json = serde_json::to_string(&dana).unwrap();
        assert_eq!(json, r#"{"name":"Dana","contact":"+972 50 123 4567"}"#);
        assert_eq!(serde_json::from_str::<Reporter>(&json).unwrap(), dana);
        assert!(serde_json::from_str::<Reporter>(r#"{"name":" "}"#).is_err());
        assert!(serde_json::from_str::<Reporter>(r#"{"name":"a","contact":"x\ny"}"#).is_err());
        assert_eq!(Reporter::new("").unwrap_err().field, "reporter name");
        assert_eq!(
            Reporter::new("a")
                .unwrap()
                .with_contact("a\tb")
                .unwrap_err()
                .field,
            "contact"
        );
    }

    #[test]
    fn service_rules() {
        for good in [
            "POS",
            "online shop",
            "payments",
            "CRM",
            "e-mail/SMS",
            "Shop (EU)",
        ] {
            assert!(Service::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " shop",
            "shop ",
            "two  spaces",
            "-x",
            "tab\tx",
            "a;b",
            &"x".repeat(65),
        ] {
            let err = Service::new(bad).unwrap_err();
            assert_eq!(err.field, "service", "{bad}");
        }
    }

    #[test]
    fn source_and_role_parse() {
        assert_eq!(
            "customer report".parse::<Source>(),
            Ok(Source::CustomerReport)
        );
        assert_eq!(
            "Proactive-Check".parse::<Source>(),
            Ok(Source::ProactiveCheck)
        );
        assert!("rumour".parse::<Source>().is_err());
        assert_eq!("OWNER".parse::<Role>(), Ok(Role::Owner));
        assert!("boss".parse::<Role>().is_err());
    }

    #[test]
    fn actor_validation_on_deserialize() {
        let bad = r#"{"id":"","name":"x","role":"owner"}"#;
        assert!(serde_json::from_str::<Actor>(bad).is_err());
        let good = r#"{"id":"a","name":"A","role":"owner"}"#;
        let actor: Actor = serde_json::from_str(good).unwrap();
        assert_eq!(actor.id(), "a");
        assert_eq!(serde_json::to_string(&actor).unwrap(), good);
    }

    #[test]
    fn v7_ids_carry_the_time_in_milliseconds_and_fresh_random_bits() {
        let at = DateTime::from_timestamp(1_795_000_000, 123_456_789).unwrap();
        let ids: Vec<IncidentId> = (0..64).map(|_| IncidentId::new_v7(at)).collect();
        for id in &ids {
            let (secs, nanos) = id.as_uuid().get_timestamp().unwrap().to_unix();
            assert_eq!((secs, nanos), (1_795_000_000, 123_000_000));
            assert_eq!(id.as_uuid().get_version_num(), 7);
        }
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // Before 1970 the time part is zero, milliseconds included.
        let early = DateTime::from_timestamp(-1, 999_000_000).unwrap();
        let (secs, nanos) = IncidentId::new_v7(early)
            .as_uuid()
            .get_timestamp()
            .unwrap()
            .to_unix();
        assert_eq!((secs, nanos), (0, 0));
    }

    proptest! {
        #[test]
        fn ids_round_trip(bytes in any::<[u8; 16]>()) {
            let id = IncidentId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<IncidentId>(), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<IncidentId>(&json).unwrap(), id);
        }

        #[test]
        fn v7_ids_sort_by_time(a in 0i64..4_000_000_000, b in 0i64..4_000_000_000) {
            let ta = DateTime::from_timestamp(a, 0).unwrap();
            let tb = DateTime::from_timestamp(b, 0).unwrap();
            let (ia, ib) = (IncidentId::new_v7(ta), IncidentId::new_v7(tb));
            prop_assert_eq!(ia.as_uuid().get_version_num(), 7);
            if a < b { prop_assert!(ia < ib); }
        }

        #[test]
        fn service_parsing_never_panics(s in ".*") {
            if let Ok(service) = Service::new(&s) {
                prop_assert_eq!(service.as_str(), s.as_str());
            }
        }
    }
}
