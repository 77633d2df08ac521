//! The nouns of the domain: incident ids, services, actors and their roles, incident sources.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;

/// The identity of an incident: a UUID version 7, so ids sort by creation time.
///
/// New ids are made by the [`Desk`](crate::Desk) from its clock; parsing accepts any UUID in
/// the usual text forms, so ids imported from elsewhere still work.
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
    /// A new version-7 id whose timestamp part is `at` and whose remaining bits are random.
    pub fn new_v7(at: DateTime<Utc>) -> IncidentId {
        let secs = u64::try_from(at.timestamp()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.timestamp_subsec_nanos());
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
/// Names compare exactly as written.
///
/// ```
/// use incidents::Service;
///
/// let pos = Service::new("POS")?;
/// assert_eq!(pos.as_str(), "POS");
/// assert!(Service::new("").is_err());
/// assert!(Service::new("shop\n").is_err());
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
        let bad = |rule: String| Err(Invalid::new("service", rule));
        let Some(first) = name.chars().next() else {
            return bad("must not be empty".into());
        };
        let chars = name.chars().count();
        if chars > SERVICE_MAX_CHARS {
            return bad(format!(
                "must be at most {SERVICE_MAX_CHARS} characters, got {chars}"
            ));
        }
        if !first.is_alphanumeric() {
            return bad(format!("must start with a letter or digit, not {first:?}"));
        }
        if name.ends_with(' ') || name.contains("  ") {
            return bad("must not end with a space or contain doubled spaces".into());
        }
        if let Some(c) = name
            .chars()
            .find(|&c| !(c.is_alphanumeric() || " -_./&+()'".contains(c)))
        {
            return bad(format!(
                "may contain only letters, digits, spaces and - _ . / & + ( ) ', found {c:?}"
            ));
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

    /// The snake_case name used by `Display`, `FromStr` and serde.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Alert => "alert",
            Source::CustomerReport => "customer_report",
            Source::StaffReport => "staff_report",
            Source::ProactiveCheck => "proactive_check",
        }
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

    /// The snake_case name.
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
/// Every recorded event carries the actor that caused it. Cheap to clone.
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
pub struct Actor {
    id: Arc<str>,
    name: Arc<str>,
    role: Role,
}

impl Actor {
    /// Validates and builds an actor.
    ///
    /// # Errors
    /// [`Invalid`] with field `actor id` if `id` is empty, longer than
    /// [`ACTOR_ID_MAX_CHARS`], or contains white space or control characters; with field
    /// `actor name` if `name` is blank, longer than [`ACTOR_NAME_MAX_CHARS`] or contains control
    /// characters.
    pub fn new(id: impl AsRef<str>, name: impl AsRef<str>, role: Role) -> Result<Actor, Invalid> {
        let id = id.as_ref();
        if id.is_empty() {
            return Err(Invalid::new("actor id", "must not be empty"));
        }
        let id_chars = id.chars().count();
        if id_chars > ACTOR_ID_MAX_CHARS {
            return Err(Invalid::new(
                "actor id",
                format!("must be at most {ACTOR_ID_MAX_CHARS} characters, got {id_chars}"),
            ));
        }
        if let Some(c) = id.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(
                "actor id",
                format!("must not contain white space or control characters, found {c:?}"),
            ));
        }
        let name = name.as_ref().trim();
        if name.is_empty() {
            return Err(Invalid::new("actor name", "must not be empty"));
        }
        let name_chars = name.chars().count();
        if name_chars > ACTOR_NAME_MAX_CHARS {
            return Err(Invalid::new(
                "actor name",
                format!("must be at most {ACTOR_NAME_MAX_CHARS} characters, got {name_chars}"),
            ));
        }
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(Invalid::new(
                "actor name",
                format!("must not contain control characters, found {c:?}"),
            ));
        }
        Ok(Actor {
            id: Arc::from(id),
            name: Arc::from(name),
            role,
        })
    }

    /// The crate's own actor, used for automatic actions (timers, ingestion).
    pub fn system() -> Actor {
        Actor {
            id: Arc::from("system"),
            name: Arc::from("System"),
            role: Role::System,
        }
    }

    /// The stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role)
    }
}

impl fmt::Debug for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Actor({:?}, {:?}, {})",
            &*self.id, &*self.name, self.role
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
            id: &self.id,
            name: &self.name,
            role: self.role,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
