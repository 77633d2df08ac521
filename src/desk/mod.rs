//! The [`Desk`]: the one facade a host uses.

mod heartbeat;
mod intake;
mod merge;
mod query;
mod reminders;
mod report;
mod snapshot;
#[cfg(feature = "status")]
mod status;
mod sync;
mod timers;
mod wake;

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::error::{Conflict, Error, HistoryError, Result};
use crate::incident::{Delivery, Incident};
use crate::lifecycle::{Change, Command, Event, NewIncident, Resolution, decide};
use crate::model::{Actor, IncidentId};
use crate::notify::{Backoff, Templates};
use crate::people::Permissions;
use crate::policy::Policy;
use crate::shard::ShardedMap;
use crate::store::{Store, Version};

pub use heartbeat::{CheckIn, HeartbeatState, Missed};
pub use merge::Merged;
pub use query::{Counts, Filter};
pub use snapshot::{Opening, SnapshotReport};
pub use sync::CatchUp;
pub use timers::{DispatchReport, RunReport, TickReport};
pub use wake::Subscription;

use timers::Queues;

/// How many times [`Desk::act`] re-decides after a version conflict before giving up.
pub const CONFLICT_RETRIES: usize = 8;

/// The incident desk: opens incidents, runs commands through the lifecycle, records the
/// resulting events in a [`Store`], fires timers, keeps the outbox, and answers queries from
/// an in-memory projection.
///
/// Every method takes `&self`; a `Desk` is `Send + Sync` and meant to be shared (`Arc<Desk>`)
/// between the threads of a host. Commands on one incident are serialised by a per-incident
/// lock inside the desk; commands on different incidents run in parallel. When several desks
/// share one store (another process, another till), appends use the store's optimistic
/// concurrency: on a conflict the desk reloads the incident and decides again.
///
/// The desk starts no threads. The host calls [`tick`](Desk::tick) when
/// [`next_deadline`](Desk::next_deadline) comes, and [`dispatch`](Desk::dispatch) to deliver
/// notifications.
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
    config: Config,
    incidents: ShardedMap<Arc<Mutex<Slot>>>,
    /// When each incident's next timer falls due.
    timers: Queues,
    /// When each incident's next pending notification should be attempted.
    outbox: Queues,
    /// Alert and idempotency keys to the incidents opened under them.
    keys: Mutex<intake::Keys>,
    /// Active incidents by service and by the side (monitors, people) they heard from, for
    /// correlation.
    active: Mutex<intake::Active>,
    /// Called after every append.
    listeners: Arc<wake::Listeners>,
    /// Serialises intake decisions per key (ingest, attach, `open_once`) within this desk,
    /// and openings that correlation could join per service.
    intake_locks: intake::IntakeLocks,
    /// How far into the store's feed this desk has caught up.
    feed_position: std::sync::atomic::AtomicU64,
    /// Serialises catch-ups.
    catch_up_lock: Mutex<()>,
    /// The declared heartbeats' last check-ins (in memory only).
    heartbeats: heartbeat::Beats,
    /// The on-call schedules' shift reminders (in memory only).
    reminders: reminders::Reminders,
    /// [`Actor::system`], made once: the recording path clones it (two reference counts)
    /// rather than allocating its id and name for every event.
    system: Actor,
    /// Incidents being opened (appended, not yet in the projection), for snapshots.
    opens: snapshot::Opens,
    /// How the projection was built.
    opening: Opening,
    /// Events this desk has appended since it was built.
    recorded: std::sync::atomic::AtomicU64,
}

/// The policy, templates and retry schedule a desk runs with.
#[derive(Debug, Clone, Default)]
struct Config {
    policy: Policy,
    templates: Templates,
    backoff: Backoff,
    permissions: Permissions,
    /// When set, notifications are rendered from these instead of the templates.
    #[cfg(feature = "l10n")]
    catalogs: Option<Arc<crate::l10n::Catalogs>>,
}

impl Config {
    /// The renderer of localized notifications, if the desk has catalogs.
    #[cfg(feature = "l10n")]
    fn localizer(&self) -> Option<crate::l10n::outbox::Localizer<'_>> {
        self.catalogs
            .as_deref()
            .map(|catalogs| crate::l10n::outbox::Localizer {
                catalogs,
                languages: self.policy.languages(),
                zone: self.policy.calendar().time_zone(),
            })
    }

    /// The notifications for `timer`, fired on `incident` at `now`: from the catalogs in
    /// each recipient's language if the desk has them, else one from the templates.
    pub(crate) fn timer_notifications(
        &self,
        incident: &Incident,
        timer: &crate::lifecycle::Timer,
        channel: Option<String>,
        now: DateTime<Utc>,
    ) -> Vec<crate::lifecycle::Notification> {
        let audience = self.timer_audience(incident, timer, now);
        #[cfg(feature = "l10n")]
        if let Some(localizer) = self.localizer() {
            return localizer.for_timer(incident, timer, audience, channel.as_deref(), now);
        }
        // Regulatory notice warnings without catalogs: English, deadlines in the shop's zone.
        if let Some(page) = crate::notify::notice_notification(
            incident,
            timer,
            channel.clone(),
            self.policy.calendar().time_zone(),
        ) {
            return vec![page];
        }
        vec![self.templates.for_timer(incident, timer, audience, channel)]
    }

    /// Who the notifications of `timer`, fired on `incident` at `now`, go to: the step's
    /// recipients for an escalation, the targets' warning list for an SLA warning (the owner
    /// when it is empty), the timer's own audience otherwise.
    ///
    /// Whoever is on call is resolved here, and the notification names them: the timeline
    /// keeps who was paged even after the schedule changes (the fired timer keeps the
    /// schedule). Resolved before the text is made, so it is in the person's language.
    fn timer_audience(
        &self,
        incident: &Incident,
        timer: &crate::lifecycle::Timer,
        now: DateTime<Utc>,
    ) -> crate::lifecycle::Audience {
        use crate::lifecycle::{Audience, Timer};
        let resolve = |recipients: &[crate::policy::Recipient]| {
            Audience::Recipients(
                recipients
                    .iter()
                    .map(|r| self.policy.resolve_recipient(r, now))
                    .collect(),
            )
        };
        match timer {
            Timer::SlaAtRisk { .. } | Timer::SlaBreached { .. } => {
                let warn = &self
                    .policy
                    .targets(incident.severity(), Some(incident.service()))
                    .warn;
                if warn.is_empty() {
                    Audience::Owner
                } else {
                    resolve(warn)
                }
            }
            other => match crate::notify::audience_of(other) {
                Audience::Recipients(recipients) => resolve(&recipients),
                audience => audience,
            },
        }
    }

    /// The notification to customers for customer update number `n` (from 0).
    fn customer_update_notification(
        &self,
        incident: &Incident,
        n: usize,
        message: &str,
    ) -> crate::lifecycle::Notification {
        #[cfg(feature = "l10n")]
        if let Some(localizer) = self.localizer() {
            return localizer.for_customer_update(incident, n, message);
        }
        self.templates.for_customer_update(incident, n, message)
    }
}

/// One incident in the projection, with the deadlines it is queued under.
#[derive(Debug)]
struct Slot {
    /// Boxed: a desk opens with its incidents already boxed by the replay, and the slot
    /// takes the box as it is (moving 800-odd bytes out of each left that many freed
    /// behind, kept by the allocator as resident memory).
    incident: Box<Incident>,
    timer_due: Option<DateTime<Utc>>,
    outbox_due: Option<DateTime<Utc>>,
    /// The sides it is listed under in the active index.
    listed: u8,
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
#[non_exhaustive]
pub struct Receipt {
    /// The incident.
    pub id: IncidentId,
    /// Its version after the command.
    pub version: Version,
    /// The events recorded; empty if the command's effect already held.
    pub events: Vec<Event>,
}

/// Builds a [`Desk`] with a policy, templates or retry schedule other than the defaults.
///
/// ```
/// use incidents::{Desk, ManualClock, MemoryStore, Policy};
///
/// let desk = Desk::builder(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))
///     .policy(Policy::small_business())
///     .build()?;
/// assert_eq!(desk.next_deadline(), None);
/// # Ok::<(), incidents::Error>(())
/// ```
#[derive(Debug)]
pub struct DeskBuilder<S, C> {
    store: S,
    clock: C,
    config: Config,
    use_snapshot: bool,
}

impl<S: Store, C: Clock> DeskBuilder<S, C> {
    /// Sets the policy (default: [`Policy::small_business`]).
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Sets the notification templates (default: [`Templates::default`]).
    #[must_use]
    pub fn templates(mut self, templates: Templates) -> Self {
        self.config.templates = templates;
        self
    }

    /// Renders notifications from message `catalogs` (feature `l10n`) instead of the
    /// [templates](Self::templates): each in the language its recipients read, as the
    /// policy's [`Languages`](crate::policy::Languages) say, with dates and times in the
    /// policy calendar's time zone. Each notification records the language it was written in
    /// ([`Notification::locale`](crate::lifecycle::Notification::locale)) and, where the
    /// message has one, its SMS text ([`Notification::sms`](crate::lifecycle::Notification::sms)).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use incidents::l10n::Catalogs;
    /// use incidents::policy::Languages;
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Policy, Role, Severity, Source};
    ///
    /// let policy = Policy::small_business().with_languages(Languages::shop("he"))?;
    /// let desk = Desk::builder(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))
    ///     .policy(policy)
    ///     .catalogs(Arc::new(Catalogs::builder().build()?))
    ///     .build()?;
    /// let dana = Actor::new("dana", "Dana", Role::Owner)?;
    /// let id = desk.open(&dana, NewIncident::new("הקופה לא עובדת", Severity::Critical, "קופות", Source::StaffReport)?)?.id;
    /// desk.tick(desk.clock().now())?;
    /// let incident = desk.get(id)?;
    /// let page = &incident.outbox()[0].notification;
    /// assert_eq!(page.locale.as_deref(), Some("he"));
    /// assert!(page.sms.is_some());
    /// # use incidents::Clock;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "l10n")]
    #[must_use]
    pub fn catalogs(mut self, catalogs: Arc<crate::l10n::Catalogs>) -> Self {
        self.config.catalogs = Some(catalogs);
        self
    }

    /// Sets who may do what (default: [`Permissions::small_business`]).
    #[must_use]
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.config.permissions = permissions;
        self
    }

    /// Sets the outbox's retry schedule (default: [`Backoff::default`]).
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// Replays the whole log even if the store holds a projection snapshot (default: start
    /// from the snapshot, see [`Desk::save_snapshot`]). For checking a snapshot against
    /// the log, or when the log is to be read whole anyway.
    #[must_use]
    pub fn ignore_snapshot(mut self) -> Self {
        self.use_snapshot = false;
        self
    }

    /// Builds the desk: reads the store's projection snapshot, if it has one, and replays
    /// the events after it; or replays every stored history ([`Desk::opening`] says which).
    ///
    /// # Errors
    /// [`Error::Policy`] if an escalation step or an SLA warning list pages whoever is on
    /// call in a schedule the policy does not have; store errors from the scan, or
    /// [`Error::History`] if a stored history cannot be replayed. A snapshot that cannot be
    /// used is no error: it is logged and the whole log is replayed.
    pub fn build(self) -> Result<Desk<S, C>> {
        let DeskBuilder {
            store,
            clock,
            config,
            use_snapshot,
        } = self;
        // A policy can name a schedule before it has its schedules (see
        // `Policy::check_schedules`); a desk does not run such a policy.
        config.policy.check_schedules()?;
        let restored = if use_snapshot {
            snapshot::restore(&store)
        } else {
            Ok(None)
        };
        let (mut incidents, opening, feed_position) = match restored {
            Ok(Some(restored)) => (
                restored.incidents,
                restored.opening,
                restored.before.position(),
            ),
            Ok(None) => {
                // Everything before the log's end now is in the replay: for a store with a
                // feed, the first catch-up starts there instead of at the beginning.
                let end = store.log_end()?.map_or(0, crate::store::LogPoint::position);
                let (incidents, events) = snapshot::replay_all(&store)?;
                let opening = Opening {
                    events_replayed: events,
                    ..Opening::default()
                };
                (incidents, opening, end)
            }
            Err(reason) => {
                log::warn!(
                    "incidents: projection snapshot ignored, replaying the whole log: {reason}"
                );
                let end = store.log_end()?.map_or(0, crate::store::LogPoint::position);
                let (incidents, events) = snapshot::replay_all(&store)?;
                let opening = Opening {
                    events_replayed: events,
                    snapshot_ignored: Some(reason),
                    ..Opening::default()
                };
                (incidents, opening, end)
            }
        };
        // Every heartbeat's silence counts from the desk's start.
        let heartbeats = heartbeat::Beats::new(config.policy.heartbeats().len(), clock.now());
        let desk = Desk {
            store,
            clock,
            config,
            incidents: ShardedMap::default(),
            timers: Queues::default(),
            outbox: Queues::default(),
            keys: Mutex::default(),
            active: Mutex::default(),
            listeners: Arc::default(),
            intake_locks: intake::IntakeLocks::default(),
            feed_position: std::sync::atomic::AtomicU64::new(feed_position),
            catch_up_lock: Mutex::new(()),
            heartbeats,
            reminders: reminders::Reminders::default(),
            system: Actor::system(),
            opens: snapshot::Opens::default(),
            opening,
            recorded: std::sync::atomic::AtomicU64::new(0),
        };
        // Oldest first, so each key's incidents are indexed in order. Taken out of the table
        // whole (a lookup and removal per incident cost as much as the indexing).
        let mut order: Vec<(DateTime<Utc>, IncidentId, Box<Incident>)> = incidents
            .drain()
            .map(|(id, incident)| (incident.created_at(), id, incident))
            .collect();
        order.sort_unstable_by_key(|(created, id, _)| (*created, *id));
        {
            let mut keys = desk.keys();
            for (_, _, incident) in &order {
                keys.add(incident);
            }
        }
        for (_, id, incident) in order {
            let mut map = desk.incidents.write(&id);
            map.entry(id).or_insert_with(|| desk.new_cell(incident));
        }
        desk.recover_heartbeats();
        Ok(desk)
    }
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// A desk over `store`, reading time from `clock`, with the default policy
    /// ([`Policy::small_business`]). Replays every stored history to build the in-memory
    /// projection. Use [`Desk::builder`] to set a policy.
    ///
    /// # Errors
    /// Store errors from the scan, or [`Error::History`] if a stored history cannot be replayed.
    pub fn new(store: S, clock: C) -> Result<Desk<S, C>> {
        Desk::builder(store, clock).build()
    }

    /// Starts building a desk over `store` with `clock`.
    pub fn builder(store: S, clock: C) -> DeskBuilder<S, C> {
        DeskBuilder {
            store,
            clock,
            config: Config::default(),
            use_snapshot: true,
        }
    }

    /// How many events this desk has appended since it was built (the
    /// [`Runner`](crate::Runner) counts them to decide when to write a snapshot).
    pub fn recorded_events(&self) -> u64 {
        self.recorded.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_recorded(&self, events: usize) {
        self.recorded
            .fetch_add(events as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock the desk reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The policy the desk runs with.
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }

    /// Opens a new incident, reported by `actor`. The desk makes its id (a UUID v7 from the
    /// clock).
    ///
    /// # Errors
    /// Store errors; nothing is recorded.
    pub fn open(&self, actor: &Actor, incident: NewIncident) -> Result<Receipt> {
        let now = self.clock.now();
        // The id's time part is the desk's clock; its 74 random bits come from a CSPRNG
        // seeded from the operating system, so no id follows from another.
        let id = IncidentId::new_v7(now);
        let command = Command::Open { id, incident };
        self.authorize(actor, &command)?;
        let mut events = decide(None, &command, actor, now)?;
        self.add_playbook_tasks(&mut events);
        let mut opened: Option<Incident> = None;
        for event in &events {
            match opened.as_mut() {
                None => opened = Some(Incident::opened(id, event)?),
                Some(incident) => incident.apply(event)?,
            }
        }
        let Some(incident) = opened else {
            return Err(HistoryError {
                incident: id,
                at: Version::ZERO,
                reason: "opening recorded no event".into(),
            }
            .into());
        };
        let _opening = self.opens.begin(id);
        let version = self.store.append(id, Version::ZERO, &events)?;
        self.count_recorded(events.len());
        self.insert(incident);
        self.listeners.notify();
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
    /// A customer update also queues a notification to customers, in the same append.
    /// [`Command::Merge`] is carried out as [`Desk::merge`] (it records on both incidents) and
    /// returns the duplicate's receipt; [`Command::Attach`] records the signal and makes its
    /// key lead here, as [`Desk::attach`] does.
    ///
    /// # Errors
    /// - [`Error::NotFound`] if no such incident exists (or, for a duplicate resolution, if the
    ///   incident it names does not exist);
    /// - [`Error::Rejected`] if the lifecycle does not allow the command now;
    /// - [`Error::Conflict`] if the retries ran out;
    /// - store errors.
    ///
    /// In every error case but one nothing was recorded. The exception: when the store
    /// fails after the append may have reached it — a file store whose flush failed, a
    /// database connection lost before the commit was confirmed — the outcome is unknown
    /// until the store is read again (a reopened file store, a retried command that gets a
    /// conflict).
    pub fn act(&self, id: IncidentId, actor: &Actor, command: Command) -> Result<Receipt> {
        self.authorize(actor, &command)?;
        let command = match command {
            // A merge records on two incidents at once.
            Command::Merge { into } => {
                return self.merge(id, into, actor).map(|merged| merged.duplicate);
            }
            // Routing changes are taken in turn with intake's decisions.
            Command::Attach { signal } => return self.attach_signal(id, actor, signal),
            other => other,
        };
        if let Command::Resolve {
            resolution: Resolution::Duplicate { of },
        } = &command
            && *of != id
        {
            let original = self.cell(*of)?.ok_or(Error::NotFound { id: *of })?;
            let original = lock(&original);
            // Duplicates lead to the incident they duplicate; one that is itself a duplicate
            // would make a chain, or a circle.
            if original.incident.duplicate_of().is_some() {
                return Err(crate::error::Rejected {
                    incident: Some(*of),
                    status: Some(original.incident.status()),
                    command: command.kind(),
                    reason: crate::error::Refusal::OriginalIsDuplicate,
                }
                .into());
            }
        }
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        let mut slot = lock(&cell);
        self.record(id, &mut slot, |incident| {
            let mut events = decide(Some(incident), &command, actor, self.clock.now())?;
            // The lifecycle allows the close; the policy may still want a review first.
            if matches!(command, Command::Close { .. })
                && incident.reviews().is_empty()
                && self.config.policy.review_required(incident)
            {
                return Err(crate::error::Rejected {
                    incident: Some(id),
                    status: Some(incident.status()),
                    command: command.kind(),
                    reason: crate::error::Refusal::ReviewRequired,
                }
                .into());
            }
            // A late filing needs the reasons its phase asks for; lateness counts on the
            // policy's calendar, so the desk checks it rather than `decide`.
            if let Command::FileNotice {
                regime,
                phase,
                late_reason: None,
                ..
            } = &command
                && crate::regulatory::state::late_without_reason(
                    incident,
                    regime,
                    phase,
                    self.config.policy.calendar(),
                    self.clock.now(),
                )
            {
                return Err(crate::error::Rejected {
                    incident: Some(id),
                    status: Some(incident.status()),
                    command: command.kind(),
                    reason: crate::error::Refusal::LateWithoutReason,
                }
                .into());
            }
            self.add_notifications(incident, &mut events);
            Ok(events)
        })
    }

    /// Checks that `actor`'s role may send `command`.
    pub(crate) fn authorize(&self, actor: &Actor, command: &Command) -> Result<()> {
        if self.config.permissions.allows(actor.role(), command) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                actor: actor.to_string(),
                action: command.kind(),
            })
        }
    }

    /// Appends, after an `Opened` event, the tasks of every playbook that applies.
    pub(crate) fn add_playbook_tasks(&self, events: &mut Vec<Event>) {
        let Some(Event {
            at,
            change:
                Change::Opened {
                    service,
                    severity,
                    alert_key,
                    ..
                },
            ..
        }) = events.first()
        else {
            return;
        };
        let at = *at;
        let mut tasks = Vec::new();
        for playbook in self.config.policy.playbooks() {
            if playbook.applies(service, *severity, alert_key.as_deref()) {
                for title in &playbook.tasks {
                    tasks.push((title.clone(), playbook.name.clone()));
                }
            }
        }
        for (n, (title, playbook)) in tasks.into_iter().enumerate() {
            events.push(Event {
                at,
                actor: self.system.clone(),
                change: Change::TaskAdded {
                    task: u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1),
                    title,
                    assignee: None,
                    playbook: Some(playbook),
                },
            });
        }
    }

    /// Who may do what on this desk.
    pub fn permissions(&self) -> &Permissions {
        &self.config.permissions
    }

    /// Decides events with `decide` against the slot's incident, appends them with optimistic
    /// concurrency (reloading and deciding again on a conflict), applies them and re-arms the
    /// incident's timers.
    fn record(
        &self,
        id: IncidentId,
        slot: &mut Slot,
        mut decide: impl FnMut(&Incident) -> Result<Vec<Event>>,
    ) -> Result<Receipt> {
        let mut last_conflict = None;
        for _ in 0..CONFLICT_RETRIES {
            let events = decide(&slot.incident)?;
            if events.is_empty() {
                return Ok(Receipt {
                    id,
                    version: slot.incident.version(),
                    events,
                });
            }
            // Check every event before anything reaches the store: a store must never hold a
            // history the lifecycle refuses. One event is checked in place; a batch is
            // applied to a copy, since each event is judged after the ones before it.
            let applied = match events.as_slice() {
                [one] => Checked::One(slot.incident.validate(one)?),
                many => {
                    let mut copy = slot.incident.clone();
                    for event in many {
                        copy.apply(event)?;
                    }
                    Checked::Many(copy)
                }
            };
            match self.store.append(id, slot.incident.version(), &events) {
                Ok(version) => {
                    self.count_recorded(events.len());
                    match applied {
                        Checked::Many(copy) => slot.incident = copy,
                        Checked::One(checked) => {
                            slot.incident.commit_validated(&events[0], checked);
                        }
                    }
                    self.rearm(slot);
                    self.route_signals(&slot.incident, &events);
                    self.listeners.notify();
                    return Ok(Receipt {
                        id,
                        version,
                        events,
                    });
                }
                Err(Error::Conflict(conflict)) => {
                    last_conflict = Some(conflict);
                    *slot.incident = self.reload(id)?;
                    self.keys().add(&slot.incident);
                    self.rearm(slot);
                    #[cfg(feature = "testing")]
                    if crate::testing::injected(crate::testing::Bug::NoRecheckAfterConflict) {
                        let version = self.store.append(id, slot.incident.version(), &events)?;
                        return Ok(Receipt {
                            id,
                            version,
                            events,
                        });
                    }
                }
                Err(other) => return Err(other),
            }
        }
        let version = slot.incident.version();
        Err(last_conflict
            .unwrap_or(Conflict {
                incident: id,
                expected: version,
                actual: version,
            })
            .into())
    }

    /// Adds the notifications that recorded `events` call for: a customer update goes out
    /// to customers.
    fn add_notifications(&self, incident: &Incident, events: &mut Vec<Event>) {
        let mut posted = incident.customer_updates().len();
        let mut extra = Vec::new();
        for event in events.iter() {
            if let Change::CustomerUpdatePosted { message } = &event.change {
                let notification =
                    self.config
                        .customer_update_notification(incident, posted, message.as_str());
                posted += 1;
                extra.push(Event {
                    at: event.at,
                    actor: self.system.clone(),
                    change: Change::NotificationRequested { notification },
                });
            }
        }
        events.extend(extra);
    }

    /// The incident as it stands now.
    ///
    /// # Errors
    /// [`Error::NotFound`] if there is no such incident.
    pub fn get(&self, id: IncidentId) -> Result<Incident> {
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        Ok(Incident::clone(&lock(&cell).incident))
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
        let mut found: Vec<Incident> = self
            .cells()
            .iter()
            .filter_map(|cell| {
                let slot = lock(cell);
                filter
                    .matches(&slot.incident)
                    .then(|| Incident::clone(&slot.incident))
            })
            .collect();
        found.sort_by_key(|i| (i.created_at(), i.id()));
        found
    }

    /// Calls `f` with each incident in turn, in no order, without copying it (each under its
    /// lock for the call only).
    #[cfg(feature = "subscribers")]
    pub(crate) fn visit(&self, mut f: impl FnMut(&Incident)) {
        for cell in &self.cells() {
            f(&lock(cell).incident);
        }
    }

    /// How many incidents there are, by status and (for active ones) by severity.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for cell in &self.cells() {
            counts.add(&lock(cell).incident);
        }
        counts
    }

    /// The projection's cell for `id`, loading it from the store if another desk created it.
    fn cell(&self, id: IncidentId) -> Result<Option<Arc<Mutex<Slot>>>> {
        if let Some(cell) = self.incidents.read(&id).get(&id) {
            return Ok(Some(Arc::clone(cell)));
        }
        let events = self.store.load(id)?;
        if events.is_empty() {
            return Ok(None);
        }
        let incident = Incident::replay(id, &events)?;
        self.keys().add(&incident);
        let mut map = self.incidents.write(&id);
        Ok(Some(Arc::clone(
            map.entry(id)
                .or_insert_with(|| self.new_cell(Box::new(incident))),
        )))
    }

    fn reload(&self, id: IncidentId) -> Result<Incident> {
        let events = self.store.load(id)?;
        Ok(Incident::replay(id, &events)?)
    }

    /// Every incident's cell, without holding any map lock afterwards.
    fn cells(&self) -> Vec<Arc<Mutex<Slot>>> {
        self.incidents
            .each()
            .flat_map(|shard| shard.values().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Adds an incident to the projection: indexes its keys, queues its deadlines.
    ///
    /// If the projection already has it (a concurrent [`catch_up`](Self::catch_up) adopted it
    /// from the store in the meantime), that one is kept: it is at least as recent.
    fn insert(&self, incident: Incident) {
        self.keys().add(&incident);
        let id = incident.id();
        let mut map = self.incidents.write(&id);
        if let std::collections::hash_map::Entry::Vacant(entry) = map.entry(id) {
            entry.insert(self.new_cell(Box::new(incident)));
        }
    }

    /// A projection cell for `incident`, its deadlines queued.
    fn new_cell(&self, incident: Box<Incident>) -> Arc<Mutex<Slot>> {
        let mut slot = Slot {
            incident,
            timer_due: None,
            outbox_due: None,
            listed: 0,
        };
        self.rearm(&mut slot);
        Arc::new(Mutex::new(slot))
    }

    /// Re-queues the slot's incident under its next timer and next outbox attempt.
    fn rearm(&self, slot: &mut Slot) {
        let id = slot.incident.id();
        let timer_due = crate::engine::next_deadline(&slot.incident, &self.config.policy);
        if timer_due != slot.timer_due {
            self.timers.set(id, slot.timer_due, timer_due);
            slot.timer_due = timer_due;
        }
        let outbox_due = slot
            .incident
            .outbox()
            .iter()
            .filter_map(|e| match e.delivery {
                Delivery::Pending { next_attempt } => Some(next_attempt),
                Delivery::Delivered { .. } | Delivery::GaveUp { .. } => None,
            })
            .min();
        if outbox_due != slot.outbox_due {
            self.outbox.set(id, slot.outbox_due, outbox_due);
            slot.outbox_due = outbox_due;
        }
        let listed = intake::sides(&slot.incident);
        if listed != slot.listed {
            self.active
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .update(slot.incident.service(), id, slot.listed, listed);
            slot.listed = listed;
        }
    }
}

/// Events checked before they are appended: one, checked in place, or several, applied to a
/// copy.
enum Checked {
    One(crate::incident::Validated),
    Many(Box<Incident>),
}

fn lock(cell: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    // `Incident::apply` checks everything before it mutates and nothing in between panics,
    // so a poisoned lock still guards a consistent incident.
    cell.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
