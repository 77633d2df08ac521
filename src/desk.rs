//! The [`Desk`]: the one facade a host uses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::error::{Conflict, Error, Result};
use crate::incident::Incident;
use crate::lifecycle::{Command, Event, NewIncident, Resolution, Status, decide};
use crate::model::{Actor, IncidentId, Service};
use crate::severity::Severity;
use crate::shard::ShardedMap;
use crate::store::{Store, Version};

/// How many times [`Desk::act`] re-decides after a version conflict before giving up.
pub const CONFLICT_RETRIES: usize = 8;

/// The incident desk: opens incidents, runs commands through the lifecycle, records the
/// resulting events in a [`Store`], and answers queries from an in-memory projection.
///
/// Every method takes `&self`; a `Desk` is `Send + Sync` and meant to be shared (`Arc<Desk>`)
/// between the threads of a host. Commands on one incident are serialised by a per-incident
/// lock inside the desk; commands on different incidents run in parallel. When several desks
/// share one store (another process, another till), appends use the store's optimistic
/// concurrency: on a conflict the desk reloads the incident and decides again.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::{Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source, Status};
///
/// let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap());
/// let desk = Desk::new(MemoryStore::new(), clock)?;
/// let dana = Actor::new("dana", "Dana", Role::Owner)?;
/// let id = desk
///     .open(&dana, NewIncident::new("Card payments fail", Severity::Critical, "payments", Source::Alert)?)?
///     .id;
/// desk.act(id, &dana, Command::Acknowledge)?;
/// assert_eq!(desk.get(id)?.status(), Status::Acknowledged);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Desk<S, C = SystemClock> {
    store: S,
    clock: C,
    incidents: ShardedMap<Arc<Mutex<Incident>>>,
    ids: IdGenerator,
}

impl<S, C> std::fmt::Debug for Desk<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field(
                "incidents",
                &self.incidents.each().map(|m| m.len()).sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

/// What a command recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The incident.
    pub id: IncidentId,
    /// Its version after the command.
    pub version: Version,
    /// The events recorded; empty if the command's effect already held.
    pub events: Vec<Event>,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// A desk over `store`, reading time from `clock`. Replays every stored history to build
    /// the in-memory projection.
    ///
    /// # Errors
    /// Store errors from the scan, or [`Error::History`] if a stored history cannot be replayed.
    pub fn new(store: S, clock: C) -> Result<Desk<S, C>> {
        let mut incidents: HashMap<IncidentId, Incident> = HashMap::new();
        store.scan(&mut |id, version, event| {
            if version == Version::new(1) {
                incidents.insert(id, Incident::opened(id, event)?);
                return Ok(());
            }
            let Some(incident) = incidents.get_mut(&id) else {
                return Err(crate::error::HistoryError {
                    incident: id,
                    at: Version::ZERO,
                    reason: format!("the store returned version {version} before version 1"),
                }
                .into());
            };
            if incident.version().next() != version {
                return Err(crate::error::HistoryError {
                    incident: id,
                    at: incident.version(),
                    reason: format!("the store skipped to version {version}"),
                }
                .into());
            }
            incident.apply(event).map_err(Error::from)
        })?;
        let map = ShardedMap::default();
        for (id, incident) in incidents {
            map.write(&id).insert(id, Arc::new(Mutex::new(incident)));
        }
        Ok(Desk {
            store,
            clock,
            incidents: map,
            ids: IdGenerator::new(),
        })
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock the desk reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Opens a new incident, reported by `actor`. The desk makes its id (a UUID v7 from the
    /// clock).
    ///
    /// # Errors
    /// Store errors; nothing is recorded.
    pub fn open(&self, actor: &Actor, incident: NewIncident) -> Result<Receipt> {
        let now = self.clock.now();
        let id = self.ids.next(now);
        let command = Command::Open { id, incident };
        let events = decide(None, &command, actor, now)?;
        let mut opened: Option<Incident> = None;
        for event in &events {
            match opened.as_mut() {
                None => opened = Some(Incident::opened(id, event)?),
                Some(incident) => incident.apply(event)?,
            }
        }
        let Some(incident) = opened else {
            return Err(crate::error::HistoryError {
                incident: id,
                at: Version::ZERO,
                reason: "opening recorded no event".into(),
            }
            .into());
        };
        let version = self.store.append(id, Version::ZERO, &events)?;
        self.incidents
            .write(&id)
            .insert(id, Arc::new(Mutex::new(incident)));
        Ok(Receipt {
            id,
            version,
            events,
        })
    }

    /// Runs `command` on incident `id` on behalf of `actor`.
    ///
    /// The command is decided against the incident's current state, appended to the store, and
    /// applied to the projection. If another desk on the same store changed the incident in
    /// between, the desk reloads it and decides again (up to [`CONFLICT_RETRIES`] times).
    ///
    /// # Errors
    /// - [`Error::NotFound`] if no such incident exists (or, for a duplicate resolution, if the
    ///   incident it names does not exist);
    /// - [`Error::Rejected`] if the lifecycle does not allow the command now;
    /// - [`Error::Conflict`] if the retries ran out;
    /// - store errors.
    ///
    /// In every error case nothing was recorded.
    pub fn act(&self, id: IncidentId, actor: &Actor, command: Command) -> Result<Receipt> {
        if let Command::Resolve {
            resolution: Resolution::Duplicate { of },
        } = &command
            && *of != id
            && self.cell(*of)?.is_none()
        {
            return Err(Error::NotFound { id: *of });
        }
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        let mut incident = lock(&cell);
        let mut last_conflict = None;
        for _ in 0..CONFLICT_RETRIES {
            let events = decide(Some(&incident), &command, actor, self.clock.now())?;
            if events.is_empty() {
                return Ok(Receipt {
                    id,
                    version: incident.version(),
                    events,
                });
            }
            match self.store.append(id, incident.version(), &events) {
                Ok(version) => {
                    for event in &events {
                        // `apply` changes nothing when it fails; `decide` only makes events
                        // the table allows, so this failing would be a bug in this crate.
                        incident.apply(event)?;
                    }
                    return Ok(Receipt {
                        id,
                        version,
                        events,
                    });
                }
                Err(Error::Conflict(conflict)) => {
                    last_conflict = Some(conflict);
                    *incident = self.reload(id)?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(last_conflict
            .unwrap_or(Conflict {
                incident: id,
                expected: incident.version(),
                actual: incident.version(),
            })
            .into())
    }

    /// The incident as it stands now.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such incident.
    pub fn get(&self, id: IncidentId) -> Result<Incident> {
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        Ok(lock(&cell).clone())
    }

    /// The incident's full history, oldest event first, read from the store.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such incident; store errors.
    pub fn history(&self, id: IncidentId) -> Result<Vec<Event>> {
        let events = self.store.load(id)?;
        if events.is_empty() {
            return Err(Error::NotFound { id });
        }
        Ok(events)
    }

    /// The incidents matching `filter`, oldest first.
    pub fn list(&self, filter: &Filter) -> Vec<Incident> {
        let cells = self.cells();
        let mut found: Vec<Incident> = cells
            .iter()
            .filter_map(|cell| {
                let incident = lock(cell);
                filter.matches(&incident).then(|| incident.clone())
            })
            .collect();
        found.sort_by_key(|i| (i.created_at(), i.id()));
        found
    }

    /// How many incidents there are, by status and (for active ones) by severity.
    pub fn counts(&self) -> Counts {
        let cells = self.cells();
        let mut counts = Counts::default();
        for cell in &cells {
            let incident = lock(cell);
            counts.total += 1;
            *counts.by_status.entry(incident.status()).or_default() += 1;
            if incident.is_active() {
                counts.active += 1;
                *counts
                    .active_by_severity
                    .entry(incident.severity())
                    .or_default() += 1;
            }
        }
        counts
    }

    /// The projection's cell for `id`, loading it from the store if another desk created it.
    fn cell(&self, id: IncidentId) -> Result<Option<Arc<Mutex<Incident>>>> {
        if let Some(cell) = self.incidents.read(&id).get(&id) {
            return Ok(Some(Arc::clone(cell)));
        }
        let events = self.store.load(id)?;
        if events.is_empty() {
            return Ok(None);
        }
        let incident = Incident::replay(id, &events)?;
        let mut map = self.incidents.write(&id);
        Ok(Some(Arc::clone(
            map.entry(id)
                .or_insert_with(|| Arc::new(Mutex::new(incident))),
        )))
    }

    fn reload(&self, id: IncidentId) -> Result<Incident> {
        let events = self.store.load(id)?;
        Ok(Incident::replay(id, &events)?)
    }

    /// Every incident's cell, without holding any map lock afterwards.
    fn cells(&self) -> Vec<Arc<Mutex<Incident>>> {
        self.incidents
            .each()
            .flat_map(|shard| shard.values().cloned().collect::<Vec<_>>())
            .collect()
    }
}

fn lock(cell: &Mutex<Incident>) -> MutexGuard<'_, Incident> {
    // `Incident::apply` checks everything before it mutates and nothing in between panics,
    // so a poisoned lock still guards a consistent incident.
    cell.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which incidents [`Desk::list`] returns. Empty criteria match everything.
///
/// ```
/// use incidents::{Desk, Filter, ManualClock, MemoryStore, Severity, Status};
///
/// # let desk = Desk::new(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))?;
/// let urgent_and_open = desk.list(&Filter::active().min_severity(Severity::High));
/// let resolved_pos = desk.list(&Filter::all().service("POS".parse()?).status(Status::Resolved));
/// assert!(urgent_and_open.is_empty() && resolved_pos.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    statuses: BTreeSet<Status>,
    min_severity: Option<Severity>,
    service: Option<Service>,
}

impl Filter {
    /// Matches every incident.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Matches incidents still being worked on (every status but resolved and closed).
    pub fn active() -> Filter {
        Filter {
            statuses: Status::ACTIVE.into_iter().collect(),
            ..Filter::default()
        }
    }

    /// Also matches `status` (statuses given accumulate; none given means any).
    #[must_use]
    pub fn status(mut self, status: Status) -> Filter {
        self.statuses.insert(status);
        self
    }

    /// Only incidents at least this severe.
    #[must_use]
    pub fn min_severity(mut self, severity: Severity) -> Filter {
        self.min_severity = Some(severity);
        self
    }

    /// Only incidents of this service.
    #[must_use]
    pub fn service(mut self, service: Service) -> Filter {
        self.service = Some(service);
        self
    }

    /// Whether `incident` matches.
    pub fn matches(&self, incident: &Incident) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&incident.status()))
            && self
                .min_severity
                .is_none_or(|min| incident.severity() >= min)
            && self
                .service
                .as_ref()
                .is_none_or(|service| incident.service() == service)
    }
}

/// Incident counts, from [`Desk::counts`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// All incidents.
    pub total: usize,
    /// Incidents neither resolved nor closed.
    pub active: usize,
    /// Incidents per status (statuses with none are absent).
    pub by_status: BTreeMap<Status, usize>,
    /// Active incidents per severity (severities with none are absent).
    pub active_by_severity: BTreeMap<Severity, usize>,
}

/// Makes UUID v7 incident ids: the clock's time in milliseconds, then 74 bits from a
/// SplitMix64 sequence seeded once from the operating system's random source. One system
/// call per desk instead of one per id.
#[derive(Debug)]
struct IdGenerator {
    state: AtomicU64,
}

impl IdGenerator {
    fn new() -> IdGenerator {
        // A v7 id for the epoch has 74 random bits (from the OS) behind a zero timestamp.
        let random = || {
            IncidentId::new_v7(chrono::DateTime::UNIX_EPOCH)
                .as_uuid()
                .as_u64_pair()
                .1
        };
        IdGenerator {
            state: AtomicU64::new(random() ^ random().rotate_left(32)),
        }
    }

    fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next(&self, at: chrono::DateTime<chrono::Utc>) -> IncidentId {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        random[8..].copy_from_slice(&self.next_u64().to_le_bytes()[..2]);
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        IncidentId::from_uuid(
            uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid(),
        )
    }
}
