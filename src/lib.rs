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
//!   [`Desk::counts`], [`Desk::history`]; the [`desk`] module holds what its calls return.
//! - The lifecycle is a pure core: [`lifecycle::decide`] turns a [`Command`] into [`Event`]s
//!   using the one [transition table](lifecycle::transition); [`Incident`] is the fold of its
//!   events ([`Incident::apply`]). See the [`lifecycle`] module for the rules, including what
//!   repeated commands do.
//! - A [`Store`] keeps every incident's events with optimistic concurrency; [`MemoryStore`]
//!   is the in-memory backend, [`FileStore`] the durable one, and the [`store`] module has the
//!   database backends and JSON Lines export.
//! - Time is an argument: the desk asks its [`Clock`]; tests use [`ManualClock`].
//! - Every failure is a typed [`Error`] saying what was wrong; a refused command changes
//!   nothing. The [`error`] module has the per-concern error types.
//! - [`Policy`] (module [`policy`]) sets SLA targets and escalation chains; [`intake`] turns
//!   monitors' alerts into incidents; [`people`] holds permissions, reviews and follow-ups;
//!   [`report`] computes figures over a window; [`sla`] tells where each clock stands;
//!   [`runner`] drives the timers on a thread; [`limits`] lists every length limit.
//! - [`notify`] defines the [`Notifier`] a host implements; [`notifiers`] has ready-made ones
//!   for real servers: e-mail (feature `smtp`), webhooks, Slack, Telegram and SMS gateways
//!   (feature `http`), and SMS cost counting.
//! - `l10n` (feature `l10n`) renders messages from Fluent catalogs (English and Hebrew
//!   shipped) with ICU4X plural rules, dates and numbers, right-to-left safe, with an SMS
//!   budget, and makes HTML e-mail whose direction follows the locale.
//! - `subscribers` (feature `subscribers`) lets customers subscribe to updates themselves,
//!   with double opt-in, unsubscribe links, erasure on request, and exactly-once fan-out of
//!   customer updates and scheduled maintenance.
//! - [`regulatory`] runs data-breach notice deadlines (GDPR, Israel, California, card brands,
//!   NIS2: built in with feature `regulatory`, not legal advice) as timers, with an evidence
//!   export.
//! - [`oncall`] holds on-call schedules (rotations in layers, overrides and swaps recorded
//!   with who made them; an iCalendar export with feature `oncall`); an escalation step or an
//!   SLA warning can page whoever is on call.
//!
//! ## Where names live
//!
//! The crate root holds the names a first program needs. Every other public type lives in the
//! module of its concern and is reached through it (`incidents::policy::Chain`,
//! `incidents::report::Window`). Enums and structs that will gain variants or fields are
//! `#[non_exhaustive]`; the few deliberately exhaustive ones ([`Status`], [`Severity`],
//! [`Role`]) say so, because a host should handle every case.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::pedantic)]
// Pedantic lints that do not fit this crate, each with its reason:
#![allow(
    // Getters and constructors are most of the API; `#[must_use]` on each adds noise, not safety
    // (results that matter are `Result`s, which are `#[must_use]` already).
    clippy::must_use_candidate,
    // Field names follow the domain (`by_alert`, `fired_signals`) and, in serialised types,
    // the stored format: renaming them would change the data or the API, not the clarity.
    clippy::struct_field_names,
    // `write!` into a `String` returns a `Result` that is never an error; `push_str(&format!(..))`
    // says the same without an ignored result, and none of these strings are hot.
    clippy::format_push_string,
)]

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod calendar;
mod clock;
pub mod desk;
mod duration_text;
mod engine;
pub mod error;
mod heartbeat;
#[cfg(feature = "l10n")]
mod html_escape;
mod id_hash;
pub mod incident;
pub mod intake;
#[cfg(feature = "l10n")]
pub mod l10n;
pub mod lifecycle;
pub mod limits;
mod model;
pub mod notifiers;
pub mod notify;
pub mod oncall;
pub mod people;
pub mod policy;
pub mod regulatory;
pub mod report;
pub mod runner;
mod severity;
mod shard;
mod simulate;
pub mod sla;
#[cfg(feature = "status")]
pub mod status;
pub mod store;
#[cfg(feature = "subscribers")]
pub mod subscribers;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
#[cfg(feature = "webhooks")]
pub mod webhooks;

// The root holds what a first program needs; everything else is in the module named for its
// concern (see each module's docs).
pub use calendar::Calendar;
pub use clock::{Clock, ManualClock, SystemClock};
pub use desk::{Desk, DeskBuilder, Filter, Receipt};
pub use error::{Conflict, Error, Invalid, Refusal, Rejected, Result};
pub use incident::Incident;
pub use intake::Alert;
pub use lifecycle::{Change, Command, CommandKind, Event, NewIncident, Resolution, Status};
pub use model::{Actor, IncidentId, Role, Service, Source};
pub use notify::Notifier;
pub use policy::Policy;
pub use runner::Runner;
pub use severity::Severity;
#[cfg(feature = "file")]
pub use store::FileStore;
pub use store::{MemoryStore, Store, Version};
pub use text::{Text, Title};
