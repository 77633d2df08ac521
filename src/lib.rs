//! # incidents
//!
//! An incident-management engine to embed in a small business's own software: detect, assess
//! severity, route to the owner, fix fast, keep customers informed, learn. No server, no
//! SaaS; it works offline and keeps the data where the host puts it.
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use incidents::{
//!     Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Resolution, Role, Severity,
//!     Source, Status,
//! };
//!
//! let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap());
//! let desk = Desk::new(MemoryStore::new(), &clock)?;
//! let dana = Actor::new("dana", "Dana", Role::Owner)?;
//!
//! let id = desk
//!     .open(&dana, NewIncident::new("Site crashes at checkout", Severity::Critical, "online shop", Source::CustomerReport)?)?
//!     .id;
//! desk.act(id, &dana, Command::Acknowledge)?;
//! desk.act(id, &dana, Command::identify("server overload from a DDoS attack")?)?;
//! desk.act(id, &dana, Command::mitigate("traffic filtering switched on")?)?;
//! clock.advance(Duration::minutes(15));
//! desk.act(id, &dana, Command::resolve(Resolution::Fixed))?;
//!
//! let incident = desk.get(id)?;
//! assert_eq!(incident.status(), Status::Resolved);
//! assert_eq!(incident.resolved_at().unwrap() - incident.created_at(), Duration::minutes(15));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Overview
//!
//! - [`Desk`] is the facade: [`Desk::open`], [`Desk::act`], [`Desk::get`], [`Desk::list`],
//!   [`Desk::counts`], [`Desk::history`].
//! - The lifecycle is a pure core: [`decide`] turns a [`Command`] into [`Event`]s using the
//!   one [transition table](transition); [`Incident`] is the fold of its events
//!   ([`Incident::apply`]). See the [`lifecycle`] module for the rules, including what
//!   repeated commands do.
//! - A [`Store`] keeps every incident's events with optimistic concurrency;
//!   [`MemoryStore`] is the in-memory backend.
//! - Time is an argument: the desk asks its [`Clock`]; tests use [`ManualClock`].
//! - Every failure is a typed [`Error`] saying what was wrong; a refused command changes
//!   nothing.
//! - [`notifiers`] has ready-made [`Notifier`]s for real servers: e-mail (feature `smtp`),
//!   webhooks, Slack, Telegram and SMS gateways (feature `http`), and SMS cost counting.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs, missing_debug_implementations)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod calendar;
mod clock;
mod desk;
mod duration_text;
mod engine;
mod error;
mod heartbeat;
mod incident;
mod intake;
pub mod lifecycle;
mod model;
pub mod notifiers;
mod notify;
mod people;
mod policy;
mod report;
mod runner;
mod severity;
mod shard;
mod simulate;
mod sla;
pub mod store;
mod text;
#[cfg(feature = "webhooks")]
pub mod webhooks;

pub use calendar::Calendar;
pub use clock::{Clock, ManualClock, SystemClock};
pub use desk::{
    CONFLICT_RETRIES, CatchUp, CheckIn, Counts, Desk, DeskBuilder, DispatchReport, Filter,
    HeartbeatState, Merged, Missed, Receipt, RunReport, Subscription, TickReport,
};
pub use engine::MAX_STEPS_PER_TICK;
pub use error::{Conflict, Error, HistoryError, Invalid, Refusal, Rejected, Result};
pub use heartbeat::{HEARTBEAT_NAME_MAX_CHARS, HEARTBEAT_SOURCE, Heartbeat};
pub use incident::{
    Closure, Delivery, Entry, FiredTimers, Incident, OutboxEntry, ResolutionRecord, SignalRecord,
    Stage, VendorWait,
};
pub use intake::{
    ALERT_KEY_MAX_CHARS, Alert, Correlate, Correlation, Ingested, Intake, MAX_LABELS,
    MaintenanceWindow, RecurrenceRule,
};
pub use lifecycle::{
    Audience, Change, Command, CommandKind, Edge, Event, NewIncident, Notification, Recurrence,
    Resolution, Signal, SignalState, SlaTarget, Status, Timer, Transition, decide, transition,
};
pub use model::{
    ACTOR_ID_MAX_CHARS, ACTOR_NAME_MAX_CHARS, Actor, Contact, IncidentId, REPORTER_MAX_CHARS,
    Reporter, Role, SERVICE_MAX_CHARS, Service, Source,
};
pub use notify::{Backoff, DeliveryError, Notifier, Template, Templates};
pub use people::{
    Feedback, FollowUp, FollowUpPlan, Grant, Handover, Money, Permissions, Playbook, PlaybookMatch,
    Review, Score, Task,
};
pub use policy::{
    Chain, Hours, OutsideHours, Policy, PolicyError, Recipient, Rounds, Step, Targets,
};
pub use report::{
    Breach, Breaches, Compared, Comparison, DurationStats, Exclusion, FigureUnit, OverdueFollowUp,
    OverdueFollowUps, Recurrences, Report, Satisfaction, SlaCompliance, TimeToAcknowledge,
    TimeToResolve, Volume, Window, report,
};
pub use runner::{Runner, RunnerHandle, RunnerStats};
pub use severity::{SEVERITY_SPELLINGS, Severity};
pub use simulate::{Simulated, simulate};
pub use sla::{SlaState, SlaStatus, sla_status};
pub use store::{Append, MemoryStore, Store, Version};
#[cfg(feature = "file")]
pub use store::{Durability, FileStore, FileStoreOptions, OpenReport};
pub use text::{TEXT_MAX_CHARS, TITLE_MAX_CHARS, Text, Title};
