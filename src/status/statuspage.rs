//! JSON in the shape of Atlassian Statuspage's public API v2 (`api/v2/*.json`), so that
//! widgets and monitors that read a Statuspage page read this one too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::text::{Lang, clean};
use super::{
    ComponentStatus, Impact, Indicator, Maintenance, PageSettings, PublicIncident, PublicStatus,
    Snapshot,
};
use crate::model::Service;

/// The files written under `api/v2/`, in this order.
pub const STATUSPAGE_FILES: [&str; 5] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "scheduled-maintenances.json",
];

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// 64-bit FNV-1a: a small, stable hash for ids that must not change between releases
/// (std's hasher may).
pub(crate) fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A component's stable id: 12 hex digits of a hash of its service's name.
pub fn component_id(service: &Service) -> String {
    format!("{:012x}", fnv1a(service.as_str().as_bytes(), 0) >> 16)
}

/// Statuspage's incident impact: `none`, `minor`, `major`, `critical`.
fn impact_str(impact: Impact) -> &'static str {
    match impact {
        Impact::None => "none",
        Impact::DegradedPerformance => "minor",
        Impact::PartialOutage => "major",
        Impact::MajorOutage => "critical",
    }
}

#[derive(Serialize)]
struct PageJson {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Serialize)]
struct StatusJson {
    indicator: Indicator,
    description: String,
}

#[derive(Serialize, Clone)]
struct ComponentJson {
    id: String,
    name: String,
    status: ComponentStatus,
    created_at: String,
    updated_at: String,
    position: usize,
    description: Option<String>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<String>,
    page_id: String,
    group: bool,
    only_show_if_degraded: bool,
}

#[derive(Serialize)]
struct UpdateJson {
    id: String,
    status: &'static str,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Option<Vec<ComponentJson>>,
    deliver_notifications: bool,
}

#[derive(Serialize)]
struct IncidentJson {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: &'static str,
    shortlink: String,
    started_at: String,
    page_id: String,
    incident_updates: Vec<UpdateJson>,
    components: Vec<ComponentJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_until: Option<String>,
}

#[derive(Serialize)]
struct Summary<'a> {
    page: &'a PageJson,
    components: &'a [ComponentJson],
    incidents: &'a [IncidentJson],
    scheduled_maintenances: &'a [IncidentJson],
    status: &'a StatusJson,
}

#[derive(Serialize)]
struct WithStatus<'a> {
    page: &'a PageJson,
    status: &'a StatusJson,
}

#[derive(Serialize)]
struct WithComponents<'a> {
    page: &'a PageJson,
    components: &'a [ComponentJson],
}

#[derive(Serialize)]
struct WithIncidents<'a> {
    page: &'a PageJson,
    incidents: &'a [IncidentJson],
}

#[derive(Serialize)]
struct WithMaintenances<'a> {
    page: &'a PageJson,
    scheduled_maintenances: &'a [IncidentJson],
}

fn public_str(status: PublicStatus) -> &'static str {
    match status {
        PublicStatus::Investigating => "investigating",
        PublicStatus::Identified => "identified",
        PublicStatus::Monitoring => "monitoring",
        PublicStatus::Resolved => "resolved",
    }
}

struct Json<'a> {
    snapshot: &'a Snapshot,
    settings: &'a PageSettings,
    lang: Lang,
    page: PageJson,
    components: Vec<ComponentJson>,
}

impl Json<'_> {
    fn shortlink(&self, anchor: &str) -> String {
        let mut link = self.settings.url.trim().to_owned();
        link.push('#');
        link.push_str(anchor);
        link
    }

    fn incident(&self, incident: &PublicIncident) -> IncidentJson {
        let id = incident.id.to_string();
        let component = self.components.get(incident.component).cloned();
        let name = match &incident.title {
            Some(title) if !title.trim().is_empty() => clean(title),
            _ => self.lang.labels.generic_title(
                &component
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            ),
        };
        let count = incident.updates.len();
        let incident_updates = incident
            .updates
            .iter()
            .enumerate()
            .map(|(i, u)| UpdateJson {
                id: format!("{id}-{}", count - i),
                status: public_str(u.status),
                body: clean(&u.body),
                incident_id: id.clone(),
                created_at: stamp(u.at),
                updated_at: stamp(u.at),
                display_at: stamp(u.at),
                affected_components: None,
                deliver_notifications: true,
            })
            .collect();
        let monitoring_at = incident
            .updates
            .iter()
            .rev()
            .find(|u| u.status == PublicStatus::Monitoring)
            .map(|u| stamp(u.at));
        IncidentJson {
            name,
            status: public_str(incident.status),
            created_at: stamp(incident.created_at),
            updated_at: stamp(incident.updated_at),
            monitoring_at,
            resolved_at: incident.resolved_at.map(stamp),
            impact: impact_str(incident.impact),
            shortlink: self.shortlink(&format!("i-{id}")),
            started_at: stamp(incident.created_at),
            page_id: self.page.id.clone(),
            incident_updates,
            components: component.into_iter().collect(),
            scheduled_for: None,
            scheduled_until: None,
            id,
        }
    }

    fn maintenance(&self, m: &Maintenance) -> IncidentJson {
        let at = self.snapshot.at;
        let status = if at < m.starts {
            "scheduled"
        } else if at < m.ends {
            "in_progress"
        } else {
            "completed"
        };
        let components = self
            .settings
            .components
            .iter()
            .zip(&self.components)
            .filter(|(c, _)| m.services.contains(&c.service))
            .map(|(_, json)| json.clone())
            .collect();
        IncidentJson {
            id: clean(&m.id),
            name: clean(&m.title),
            status,
            created_at: stamp(m.starts),
            updated_at: stamp(at.min(m.ends).max(m.starts)),
            monitoring_at: None,
            resolved_at: (status == "completed").then(|| stamp(m.ends)),
            impact: "maintenance",
            shortlink: self.shortlink(&format!("m-{}", clean(&m.id))),
            started_at: stamp(m.starts),
            page_id: self.page.id.clone(),
            incident_updates: Vec::new(),
            components,
            scheduled_for: Some(stamp(m.starts)),
            scheduled_until: Some(stamp(m.ends)),
        }
    }
}

fn pretty<T: Serialize>(value: &T) -> String {
    // These values are structs, strings, numbers without floats, booleans and options: serde_json
    // cannot fail on them (it fails only on maps with non-string keys or failing Serialize
    // impls). Should it ever, an empty object is written rather than a panic.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

impl Snapshot {
    /// The Statuspage API v2 files, as (name under `api/v2/`, JSON text) pairs in the order
    /// of [`STATUSPAGE_FILES`]: `summary.json` (page, components, unresolved incidents,
    /// upcoming and active maintenance, status), `status.json`, `components.json`,
    /// `incidents.json` (active and recent) and `scheduled-maintenances.json`.
    ///
    /// Field names and enum strings are Statuspage's. A component's id is
    /// [`component_id`] of its service (stable across runs and releases); an incident's id is
    /// its UUID; an update's id is the incident's id and the update's number, oldest first.
    /// An incident without a public title is named with the page language's generic line.
    /// Bidirectional controls are dropped from all text; JSON escaping does the rest.
    pub fn statuspage_json(&self, settings: &PageSettings) -> Vec<(&'static str, String)> {
        let lang = Lang::of(&settings.locale, settings.zone);
        let at = stamp(self.at);
        let page = PageJson {
            id: clean(&settings.id),
            name: clean(&settings.name),
            url: clean(&settings.url),
            time_zone: settings.zone.name().to_owned(),
            updated_at: at.clone(),
        };
        let components = self
            .components
            .iter()
            .enumerate()
            .map(|(i, view)| ComponentJson {
                id: component_id(&view.component.service),
                name: clean(&view.component.name),
                status: view.status,
                created_at: at.clone(),
                updated_at: at.clone(),
                position: i + 1,
                description: view.component.description.as_deref().map(clean),
                showcase: true,
                start_date: None,
                group_id: None,
                page_id: page.id.clone(),
                group: false,
                only_show_if_degraded: false,
            })
            .collect();
        let status = StatusJson {
            indicator: self.indicator,
            description: lang.labels.indicator(self.indicator).to_owned(),
        };
        let json = Json {
            snapshot: self,
            settings,
            lang,
            page,
            components,
        };
        let unresolved: Vec<IncidentJson> = self.active.iter().map(|i| json.incident(i)).collect();
        let all: Vec<IncidentJson> = self
            .active
            .iter()
            .chain(&self.history)
            .map(|i| json.incident(i))
            .collect();
        let maintenances: Vec<IncidentJson> = self
            .maintenance_active
            .iter()
            .chain(&self.maintenance_scheduled)
            .map(|m| json.maintenance(m))
            .collect();
        vec![
            (
                STATUSPAGE_FILES[0],
                pretty(&Summary {
                    page: &json.page,
                    components: &json.components,
                    incidents: &unresolved,
                    scheduled_maintenances: &maintenances,
                    status: &status,
                }),
            ),
            (
                STATUSPAGE_FILES[1],
                pretty(&WithStatus {
                    page: &json.page,
                    status: &status,
                }),
            ),
            (
                STATUSPAGE_FILES[2],
                pretty(&WithComponents {
                    page: &json.page,
                    components: &json.components,
                }),
            ),
            (
                STATUSPAGE_FILES[3],
                pretty(&WithIncidents {
                    page: &json.page,
                    incidents: &all,
                }),
            ),
            (
                STATUSPAGE_FILES[4],
                pretty(&WithMaintenances {
                    page: &json.page,
                    scheduled_maintenances: &maintenances,
                }),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::status::text::sample;

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    fn files() -> Vec<(&'static str, Value)> {
        let (settings, snapshot) = sample::page(
            "en",
            chrono_tz::Asia::Jerusalem,
            3,
            "Shop \u{202E}x",
            None,
            "We are on it",
        );
        snapshot
            .statuspage_json(&settings)
            .into_iter()
            .map(|(name, text)| (name, serde_json::from_str(&text).unwrap()))
            .collect()
    }

    #[test]
    fn the_files_have_statuspage_field_names_and_values() {
        let files = files();
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, STATUSPAGE_FILES);
        let summary = &files[0].1;
        assert_eq!(
            keys(summary),
            [
                "components",
                "incidents",
                "page",
                "scheduled_maintenances",
                "status"
            ]
        );
        assert_eq!(
            keys(&summary["page"]),
            ["id", "name", "time_zone", "updated_at", "url"]
        );
        assert_eq!(summary["page"]["time_zone"], "Asia/Jerusalem");
        assert_eq!(summary["page"]["name"], "Shop x", "bidi controls dropped");
        assert_eq!(summary["status"]["indicator"], "critical");
        assert_eq!(summary["status"]["description"], "Major system outage");
        let component = &summary["components"][0];
        assert_eq!(
            keys(component),
            [
                "created_at",
                "description",
                "group",
                "group_id",
                "id",
                "name",
                "only_show_if_degraded",
                "page_id",
                "position",
                "showcase",
                "start_date",
                "status",
                "updated_at"
            ]
        );
        assert_eq!(component["status"], "major_outage");
        assert_eq!(component["position"], 1);
        assert_eq!(summary["components"][1]["status"], "operational");
        let incident = &summary["incidents"][0];
        assert_eq!(
            keys(incident),
            [
                "components",
                "created_at",
                "id",
                "impact",
                "incident_updates",
                "monitoring_at",
                "name",
                "page_id",
                "resolved_at",
                "shortlink",
                "started_at",
                "status",
                "updated_at"
            ]
        );
        assert_eq!(incident["impact"], "critical");
        assert_eq!(incident["status"], "identified");
        assert_eq!(incident["name"], "Issue affecting Shop x");
        assert!(incident["resolved_at"].is_null());
        assert_eq!(incident["components"][0]["id"], component["id"]);
        let update = &incident["incident_updates"][0];
        assert_eq!(
            keys(update),
            [
                "affected_components",
                "body",
                "created_at",
                "deliver_notifications",
                "display_at",
                "id",
                "incident_id",
                "status",
                "updated_at"
            ]
        );
        assert_eq!(update["status"], "identified");
        assert_eq!(update["body"], "We are on it");
        assert_eq!(update["incident_id"], incident["id"]);
        // Statuspage's timestamps: RFC 3339 with milliseconds.
        assert_eq!(&incident["created_at"].as_str().unwrap()[19..], ".000Z");
        // Only unresolved incidents in the summary; all of them in incidents.json.
        assert_eq!(summary["incidents"].as_array().unwrap().len(), 1);
        let all = &files[3].1["incidents"];
        assert_eq!(all.as_array().unwrap().len(), 2);
        assert_eq!(all[1]["status"], "resolved");
        assert_eq!(all[1]["impact"], "major");
        let maintenances = &files[4].1["scheduled_maintenances"];
        assert_eq!(maintenances[0]["status"], "in_progress");
        assert_eq!(maintenances[1]["status"], "scheduled");
        assert_eq!(maintenances[0]["impact"], "maintenance");
        assert!(maintenances[1]["scheduled_for"].is_string());
        assert!(maintenances[1]["scheduled_until"].is_string());
        assert_eq!(keys(&files[1].1), ["page", "status"]);
        assert_eq!(keys(&files[2].1), ["components", "page"]);
    }

    #[test]
    fn component_ids_are_stable_and_distinct() {
        let a = Service::new("online shop").unwrap();
        let b = Service::new("payments").unwrap();
        assert_eq!(component_id(&a), component_id(&a));
        assert_ne!(component_id(&a), component_id(&b));
        assert_eq!(component_id(&a).len(), 12);
        // Pinned: a component's id must never change between releases.
        assert_eq!(
            component_id(&a),
            format!("{:012x}", fnv1a(b"online shop", 0) >> 16)
        );
        assert_eq!(fnv1a(b"a", 0), 0xaf63_dc4c_8601_ec8c);
    }
}
