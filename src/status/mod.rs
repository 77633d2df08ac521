//! A public status page that needs no server (feature `status`): one self-contained HTML
//! file, Atlassian Statuspage-compatible JSON beside it, and an Atom feed of the history.
//!
//! The page is built in two steps. [`Snapshot::build`] reads incident histories (their events)
//! and the host's [`PageSettings`] and computes what the public may see: each component's
//! status now, the active and recent incidents with their customer updates, maintenance, and
//! 90 days of uptime per component. The renderers turn one snapshot into files; publishing
//! writes them atomically into a directory the host copies to any static web space.
//!
//! # What is published
//!
//! Only customer-facing text: an incident's **public title** (set with
//! [`Command::SetPublicTitle`](crate::lifecycle::Command); without one the page shows a
//! generic line for the component in the page's language), its **customer updates**, and
//! its public status. Never internal notes, root causes, mitigations, reporters or people.
//!
//! # From severity to component status
//!
//! An incident affects the component of its service with an [`Impact`]: the one a person set
//! with [`Command::SetImpact`](crate::lifecycle::Command) (recorded with who set it), or else
//! the one its severity maps to ([`Impact::of_severity`]): critical → major outage, high →
//! partial outage, medium → degraded performance, low → none (not shown). A component's
//! status is the worst impact of its active incidents, or under maintenance during a
//! maintenance window, or operational.
//!
//! # How a snapshot is computed
//!
//! [`Snapshot::build`] documents every rule; in short: only incidents on a configured
//! component's service count, and merged duplicates are left out (the surviving incident
//! stands for them). An incident is active from its opening until resolved, and again from a
//! reopening; while active it shows its override or its severity's impact *at each instant*,
//! so the bars follow severity changes to the second. Maintenance shows only where no
//! incident affects a component, and counts as up. Days are counted from local midnight in
//! the page's zone (23 or 25 hours across a DST change; today up to the snapshot's instant),
//! and uptime is 1 − down ÷ counted over all bars ([`UPTIME_FORMULA`]). Resolved incidents
//! stay in the history for `history_days` with the worst impact they had. The desk builds a
//! snapshot of its own incidents with `Desk::status_snapshot`.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::Service;

mod atom;
mod build;
mod html;
mod publish;
mod statuspage;
mod text;

pub use crate::lifecycle::Impact;
pub use publish::{Published, PublishedFile, publish, render};
pub use statuspage::{STATUSPAGE_FILES, component_id};

/// A component's status, as Statuspage spells it (`operational`, `degraded_performance`,
/// `partial_outage`, `major_outage`, `under_maintenance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Working normally.
    Operational,
    /// Working, slower or with errors.
    DegradedPerformance,
    /// Down for some customers.
    PartialOutage,
    /// Down.
    MajorOutage,
    /// Taken down on purpose, announced.
    UnderMaintenance,
}

/// The page's overall indicator, as Statuspage spells it (`none`, `minor`, `major`,
/// `critical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// All systems operational.
    None,
    /// Degraded performance somewhere (or maintenance).
    Minor,
    /// A partial outage somewhere.
    Major,
    /// A major outage somewhere.
    Critical,
}

/// An incident's status as the public sees it, as Statuspage spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicStatus {
    /// Open, acknowledged or investigating.
    Investigating,
    /// The cause is known.
    Identified,
    /// A fix is in place and being watched.
    Monitoring,
    /// Resolved or closed.
    Resolved,
}

/// What the host tells the page: its name, language, zone, components and maintenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PageSettings {
    /// A stable id for the page (Statuspage's `page.id`), e.g. the shop's domain.
    pub id: String,
    /// The page's title, usually the shop's name.
    pub name: String,
    /// The page's public address, for links in the JSON and the Atom feed (`https://…/`).
    pub url: String,
    /// The page's language (BCP 47), which also sets `dir` (Hebrew: right to left).
    pub locale: String,
    /// The zone dates are shown in and days are counted in.
    pub zone: Tz,
    /// The components shown, in this order. Incidents on other services are not published.
    pub components: Vec<Component>,
    /// Announced maintenance windows (past ones are dropped from the page).
    pub maintenances: Vec<Maintenance>,
    /// Days of incident history listed (default 14).
    pub history_days: u32,
    /// Days of uptime bars per component (default 90).
    pub bar_days: u32,
}

impl PageSettings {
    /// Settings with the defaults: no components, no maintenance, 14 days of history and 90
    /// days of bars.
    pub fn new(id: &str, name: &str, url: &str, locale: &str, zone: Tz) -> PageSettings {
        PageSettings {
            id: id.to_owned(),
            name: name.to_owned(),
            url: url.to_owned(),
            locale: locale.to_owned(),
            zone,
            components: Vec::new(),
            maintenances: Vec::new(),
            history_days: 14,
            bar_days: 90,
        }
    }

    /// Adds a component.
    #[must_use]
    pub fn component(mut self, component: Component) -> PageSettings {
        self.components.push(component);
        self
    }

    /// Adds a maintenance window.
    #[must_use]
    pub fn maintenance(mut self, maintenance: Maintenance) -> PageSettings {
        self.maintenances.push(maintenance);
        self
    }
}

/// One component of the page: a service, under the name customers know it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Component {
    /// The service whose incidents affect it.
    pub service: Service,
    /// Its public name ("Checkout", "קופה").
    pub name: String,
    /// An optional line under the name.
    pub description: Option<String>,
}

impl Component {
    /// A component for `service`, shown as `name`.
    pub fn new(service: Service, name: &str) -> Component {
        Component {
            service,
            name: name.to_owned(),
            description: None,
        }
    }

    /// With a line under the name.
    #[must_use]
    pub fn with_description(mut self, description: &str) -> Component {
        self.description = Some(description.to_owned());
        self
    }
}

/// An announced maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Maintenance {
    /// A stable id (letters, digits, `-`, `_`, `.`), as for a subscriber bulletin.
    pub id: String,
    /// What is done, for customers.
    pub title: String,
    /// The services taken down.
    pub services: Vec<Service>,
    /// When it starts.
    pub starts: DateTime<Utc>,
    /// When it ends.
    pub ends: DateTime<Utc>,
}

/// What the public sees at one instant: built by [`Snapshot::build`], rendered to files.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// When it was built.
    pub at: DateTime<Utc>,
    /// The overall indicator.
    pub indicator: Indicator,
    /// One entry per component of the settings, in their order.
    pub components: Vec<ComponentView>,
    /// Active incidents affecting a component, newest first.
    pub active: Vec<PublicIncident>,
    /// Incidents resolved within the history days, newest first.
    pub history: Vec<PublicIncident>,
    /// Maintenance in progress at `at`.
    pub maintenance_active: Vec<Maintenance>,
    /// Maintenance announced to start after `at`, soonest first.
    pub maintenance_scheduled: Vec<Maintenance>,
}

/// A component on the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ComponentView {
    /// The component as configured.
    pub component: Component,
    /// Its status at the snapshot's instant.
    pub status: ComponentStatus,
    /// One bar per day, oldest first (the last is today, in the page's zone).
    pub days: Vec<Day>,
    /// Uptime over the bars' days as a fraction in 0..=1 (see [`UPTIME_FORMULA`]).
    pub uptime: f64,
}

/// One day's bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Day {
    /// The date, in the page's zone.
    pub date: NaiveDate,
    /// The worst status the component had that day.
    pub worst: ComponentStatus,
    /// Seconds counted as down that day (see [`UPTIME_FORMULA`]).
    pub down_seconds: i64,
    /// Seconds of the day counted (the part of today that has passed; 23 or 25 hours on a DST
    /// change).
    pub counted_seconds: i64,
}

/// How uptime is counted, in words the page prints: a second is down while the component
/// has a major or partial outage; degraded performance and announced maintenance count as
/// up.
pub const UPTIME_FORMULA: &str = "uptime = 1 − (seconds in major or partial outage) ÷ (seconds in the period); degraded performance and announced maintenance count as up";

/// An incident as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PublicIncident {
    /// Its id.
    pub id: crate::IncidentId,
    /// Its public title, if one was set.
    pub title: Option<String>,
    /// The component it affects (an index into [`Snapshot::components`]).
    pub component: usize,
    /// Its impact now (for a resolved one: the worst it had).
    pub impact: Impact,
    /// Its public status.
    pub status: PublicStatus,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed in a way the public sees.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved, if it is.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Its customer updates, newest first, each with the public status at the time.
    pub updates: Vec<PublicUpdate>,
}

/// One customer update as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PublicUpdate {
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// The incident's public status when it was posted.
    pub status: PublicStatus,
    /// What it says.
    pub body: String,
}
