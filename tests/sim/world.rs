//! The simulated world: one shop's store on a faulty disk, one to three desks sharing it, a
//! notifier with moods, a clock only the seed moves, and a workload of alerts, people's
//! commands, ticks, dispatches, catch-ups, snapshots, restarts and power losses. After every
//! step the checker compares what happened with the reference model.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::lifecycle::{Edge, SlaTarget, Timer, transition};
use incidents::notify::Backoff;
use incidents::sla::{SlaState, sla_status};
use incidents::store::file::FileStoreOptions;
use incidents::{
    Actor, Alert, Change, Command, Desk, Error, Event, FileStore, Incident, IncidentId,
    ManualClock, NewIncident, Policy, Resolution, Role, Severity, Source, Status, Store,
};

use crate::faults::{Armed, Disk, FaultCounts, Mood, Rng, SimNotifier, lock};
use crate::recorder::{Attempt, Journal, Recorder};

type SimDesk = Desk<Recorder, Arc<ManualClock>>;

/// A broken promise: what, at which step of which seed.
#[derive(Debug)]
pub struct Violation {
    pub seed: u64,
    pub step: u64,
    pub what: String,
    /// The last lines of the trace before it.
    pub recent: Vec<String>,
    /// The whole trace up to it, if the world kept one.
    pub trace: Option<String>,
}

impl Violation {
    /// What went wrong, without the ids, counts and times that differ from run to run of a
    /// shrinking: the kind of failure.
    pub fn kind(&self) -> String {
        self.what
            .split_whitespace()
            .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
            .take(12)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "invariant violated at seed {} step {}: {}",
            self.seed, self.step, self.what
        )?;
        writeln!(f, "last steps:")?;
        for line in &self.recent {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "replay: SIM_SEED={} SIM_STEPS={} cargo test --release --test sim replay -- --nocapture",
            self.seed,
            self.step + 1
        )
    }
}

/// What one run did.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub steps: u64,
    pub events: u64,
    pub incidents: u64,
    pub faults: FaultCounts,
    /// A hash of the whole trace (FNV-1a).
    pub trace_hash: u64,
    /// The whole trace, if asked for.
    pub trace: Option<String>,
}

/// The model's view of one incident's stream.
#[derive(Debug, Default, Clone)]
struct Stream {
    events: Vec<Event>,
    status: Option<Status>,
    timer_keys: HashSet<String>,
    requested: HashSet<String>,
    delivered: HashSet<String>,
    /// Keys whose outbox entry is settled: delivered, or given up.
    settled: HashSet<String>,
}

type Check = Result<(), String>;

impl Stream {
    /// Folds `event` at position `at`, checking it against the transition table and the
    /// keys seen before.
    fn fold(&mut self, event: &Event, notifier: &SimNotifier, backoff: &Backoff) -> Check {
        let at = self.events.len();
        let kind = event.change.command_kind();
        match transition(self.status, kind) {
            Edge::Move(to) => self.status = Some(to),
            Edge::Stay => {}
            edge => {
                return Err(format!(
                    "event {at} ({}) is no edge of the transition table from {:?}: {edge:?}",
                    event.change.name(),
                    self.status
                ));
            }
        }
        match &event.change {
            Change::TimerFired { timer } if !self.timer_keys.insert(timer.key()) => {
                return Err(format!("timer {} recorded twice (event {at})", timer.key()));
            }
            Change::NotificationRequested { notification }
                if !self.requested.insert(notification.key.clone()) =>
            {
                return Err(format!(
                    "notification {} requested twice (event {at})",
                    notification.key
                ));
            }
            Change::NotificationDelivered { key } => {
                if !self.requested.contains(key) {
                    return Err(format!("delivery of {key} that was never requested"));
                }
                if !self.delivered.insert(key.clone()) {
                    return Err(format!("delivery of {key} recorded twice"));
                }
                if notifier.delivered_count(key) == 0 {
                    return Err(format!(
                        "delivery of {key} recorded but the notifier never delivered it"
                    ));
                }
                self.settled.insert(key.clone());
            }
            Change::NotificationFailed {
                key,
                attempt,
                retry_at,
                ..
            } => {
                if !self.requested.contains(key) || self.settled.contains(key) {
                    return Err(format!("failure of {key}, which is not pending"));
                }
                if *attempt > backoff.attempts
                    || (*attempt == backoff.attempts && retry_at.is_some())
                {
                    return Err(format!(
                        "failure {attempt} of {key} retries past the backoff's {} attempts",
                        backoff.attempts
                    ));
                }
                if retry_at.is_none() {
                    self.settled.insert(key.clone());
                }
            }
            _ => {}
        }
        self.events.push(event.clone());
        Ok(())
    }
}

/// Which store the desks share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `FileStore` on the simulated disk: every fault.
    File,
    /// `SqliteStore`: process exits and restarts, racing desks through its feed, the
    /// notifier's faults; no disk faults (SQLite writes through its own VFS, not the hook).
    #[cfg(feature = "sqlite")]
    Sqlite,
}

/// The world of one seed.
pub struct World {
    seed: u64,
    backend: Backend,
    rng: Rng,
    step: u64,
    start: DateTime<Utc>,
    clock: Arc<ManualClock>,
    dir: PathBuf,
    disk: Arc<Disk>,
    notifier: SimNotifier,
    journal: Arc<Mutex<Journal>>,
    store: Option<Recorder>,
    desks: Vec<Option<SimDesk>>,
    /// The store needs reopening (a write failed, or the "process" died).
    troubled: bool,
    streams: HashMap<IncidentId, Stream>,
    /// Incidents in order of first sight (for picking, deterministically).
    ids: Vec<IncidentId>,
    /// Alerts sent before, to send again (duplicates).
    sent: Vec<Alert>,
    people: [Actor; 3],
    backoff: Backoff,
    policy: Policy,
    counts: FaultCounts,
    trace_hash: u64,
    trace: Option<String>,
    recent: Vec<String>,
    line: String,
    skip: HashSet<u64>,
}

const FULL_CHECK_EVERY: u64 = 250;

impl World {
    pub fn new(seed: u64, keep_trace: bool) -> World {
        World::on(Backend::File, seed, keep_trace)
    }

    pub fn on(backend: Backend, seed: u64, keep_trace: bool) -> World {
        incidents::testing::seed_incident_ids(Some(seed));
        // Even seeds read the file store back through its multi-threaded pipeline (which a
        // simulated log, far below 4 MiB, would never reach), odd seeds on one thread.
        incidents::testing::pipeline_scans_from(seed.is_multiple_of(2).then_some(0));
        // A third of the seeds open the store reading a few bytes at a time.
        incidents::testing::open_reads_in(
            (seed % 3 == 1).then(|| 16 + usize::try_from(seed % 4000).unwrap_or(0)),
        );
        let mut rng = Rng::new(seed);
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "incidents-sim-{}-{seed}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let start = Utc
            .with_ymd_and_hms(2026, 12, 4, 8, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(rng.below(60 * 24 * 7) as i64);
        let disk = Arc::new(Disk::default());
        let desks = (0..1 + rng.below(3)).map(|_| None).collect();
        let actor = |id: &str, role| Actor::new(id, id, role).expect("a valid actor");
        let mut world = World {
            seed,
            backend,
            rng,
            step: 0,
            start,
            clock: Arc::new(ManualClock::new(start)),
            dir,
            notifier: SimNotifier::new(disk.clone()),
            disk,
            journal: Arc::default(),
            store: None,
            desks,
            troubled: false,
            streams: HashMap::new(),
            ids: Vec::new(),
            sent: Vec::new(),
            people: [
                actor("dana", Role::Owner),
                actor("sam", Role::Responder),
                actor("lee", Role::Support),
            ],
            backoff: Backoff::default(),
            policy: Policy::small_business(),
            counts: FaultCounts::default(),
            trace_hash: 0xcbf2_9ce4_8422_2325,
            trace: keep_trace.then(String::new),
            recent: Vec::new(),
            line: String::new(),
            skip: HashSet::new(),
        };
        world.open_store().expect("a fresh store opens");
        world
    }

    /// Leaves the steps in `skip` out (each does nothing; the restarts that follow a
    /// fault still happen).
    pub fn skipping(mut self, skip: HashSet<u64>) -> World {
        self.skip = skip;
        self
    }

    fn fail(&self, what: impl Into<String>) -> Violation {
        Violation {
            seed: self.seed,
            step: self.step,
            what: what.into(),
            recent: self.recent.clone(),
            trace: self.trace.clone(),
        }
    }

    fn trace(&mut self, text: impl AsRef<str>) {
        self.line.push_str(text.as_ref());
    }

    fn end_line(&mut self) {
        let line = format!("{:>6} {}", self.step, std::mem::take(&mut self.line));
        for b in line.bytes().chain(std::iter::once(b'\n')) {
            self.trace_hash ^= u64::from(b);
            self.trace_hash = self.trace_hash.wrapping_mul(0x0100_0000_01b3);
        }
        if let Some(trace) = &mut self.trace {
            trace.push_str(&line);
            trace.push('\n');
        }
        if self.recent.len() == 40 {
            self.recent.remove(0);
        }
        self.recent.push(line);
    }

    fn open_store(&mut self) -> Result<(), String> {
        let inner: Arc<dyn Store> = match self.backend {
            Backend::File => {
                // A third of the seeds write an index checkpoint at every clean close, on top
                // of the ones snapshots write.
                let close = if self.seed % 3 == 2 { 0 } else { u64::MAX };
                let options = FileStoreOptions::new()
                    .fault_hook(self.disk.clone())
                    .checkpoint_on_close_after(close);
                let store = FileStore::open_with(&self.dir, options)
                    .map_err(|e| format!("the store does not open after a crash: {e}"))?;
                self.counts.opens_from_checkpoint +=
                    u64::from(store.open_report().vouched_bytes > 0);
                Arc::new(store)
            }
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
                let store = incidents::store::SqliteStore::open(self.dir.join("shop.db"))
                    .map_err(|e| format!("the database does not open after a crash: {e}"))?;
                Arc::new(store)
            }
        };
        self.store = Some(Recorder {
            inner,
            journal: self.journal.clone(),
        });
        for i in 0..self.desks.len() {
            self.start_desk(i)?;
        }
        self.troubled = false;
        Ok(())
    }

    fn start_desk(&mut self, i: usize) -> Result<(), String> {
        let store = self.store.clone().ok_or("no store")?;
        let desk = Desk::builder(store, self.clock.clone())
            .backoff(self.backoff)
            .build()
            .map_err(|e| format!("desk {i} does not start: {e}"))?;
        self.desks[i] = Some(desk);
        Ok(())
    }

    /// Ends the "process": every desk and the store dropped, then (on a power loss) the
    /// disk forgets what was not flushed; then everything is opened again.
    fn restart_process(&mut self, power_loss: bool) -> Result<(), String> {
        for desk in &mut self.desks {
            *desk = None;
        }
        self.store = None;
        if power_loss {
            self.disk
                .power_loss(&mut self.rng)
                .map_err(|e| format!("simulating the power loss: {e}"))?;
        } else {
            self.disk.disarm();
            self.disk.forget_unsynced();
            self.counts.clean_reopens += 1;
        }
        self.open_store()
    }

    fn now(&self) -> DateTime<Utc> {
        incidents::Clock::now(&*self.clock)
    }

    /// Runs `steps` steps, checking after each; then settles everything and checks the
    /// promises about the end (every notification settled, the report).
    pub fn run(mut self, steps: u64) -> Result<Outcome, Violation> {
        while self.step < steps {
            self.one_step()?;
            self.step += 1;
        }
        self.settle()?;
        let events = self.streams.values().map(|s| s.events.len() as u64).sum();
        let mut faults = self.counts;
        faults.add(&self.disk.counts());
        faults.add(&self.notifier.counts());
        faults.conflicts_between_desks = lock(&self.journal).conflicts;
        Ok(Outcome {
            steps: self.step,
            events,
            incidents: self.streams.len() as u64,
            faults,
            trace_hash: self.trace_hash,
            trace: self.trace.take(),
        })
    }

    fn one_step(&mut self) -> Result<(), Violation> {
        // Each step draws from its own generator, so that leaving steps out (the shrinker)
        // does not change what the others do.
        self.rng = Rng::new(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(self.step.wrapping_mul(0xd1b5_4a32_d192_ed03)),
        );
        if self.troubled {
            let power = self.rng.chance(500);
            self.trace(if power { "power loss" } else { "reopen" });
            let result = self.restart_process(power);
            self.end_line();
            result.map_err(|e| self.fail(e))?;
            return self.full_check();
        }
        if self.skip.contains(&self.step) {
            return Ok(());
        }
        let d = self.rng.below(self.desks.len() as u64) as usize;
        self.trace(format!("d{d} "));
        let roll = self.rng.below(1000);
        let refusable = match roll {
            0..300 => {
                self.ingest(d);
                false
            }
            300..350 => {
                self.open(d);
                false
            }
            350..560 => self.act(d),
            560..660 => {
                self.tick(d);
                false
            }
            660..720 => {
                self.dispatch(d);
                false
            }
            720..760 => {
                self.run_due(d);
                false
            }
            760..900 => {
                self.advance(d);
                false
            }
            900..950 => {
                self.catch_up(d);
                false
            }
            950..965 => {
                self.snapshot(d);
                false
            }
            965..975 => {
                self.counts.desk_restarts += 1;
                self.desks[d] = None;
                self.trace("restart");
                if let Err(e) = self.start_desk(d) {
                    self.troubled = true;
                    self.trace(format!(" -> {e}"));
                }
                false
            }
            975..985 => {
                let power = self.rng.chance(700);
                self.trace(if power { "power loss" } else { "process exit" });
                self.end_line();
                self.restart_process(power).map_err(|e| self.fail(e))?;
                self.check_step(false)?;
                return self.full_check();
            }
            _ => {
                self.arm_fault();
                false
            }
        };
        self.end_line();
        self.check_step(refusable)?;
        if self.step % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1 && !self.troubled {
            self.full_check()?;
        }
        Ok(())
    }

    fn desk(&self, d: usize) -> Option<&SimDesk> {
        self.desks[d].as_ref()
    }

    /// Notes an error of a desk call in the trace; one no step should meet marks the line
    /// as a violation (and the world as troubled).
    fn note_error(&mut self, error: &Error) {
        if let Err(unexpected) = self.outcome_of_error(error) {
            self.line.push_str(&format!(" !! {unexpected}"));
            self.troubled = true;
        }
    }

    /// Notes an error of a desk call; store trouble makes the world reopen the store.
    fn outcome_of_error(&mut self, error: &Error) -> Result<(), String> {
        let kind = match error {
            Error::Rejected(r) => {
                self.counts.refused_commands += 1;
                format!("rejected ({:?})", r.reason)
            }
            Error::Forbidden { .. } => {
                self.counts.refused_commands += 1;
                "forbidden".into()
            }
            Error::NotFound { .. } => {
                self.counts.refused_commands += 1;
                "not found".into()
            }
            Error::Conflict(_) => "conflict".into(),
            Error::Invalid(_) => "invalid".into(),
            Error::Io { .. } | Error::Poisoned { .. } => {
                self.troubled = true;
                "disk trouble".into()
            }
            other => return Err(format!("unexpected error: {other}")),
        };
        self.trace(format!(" -> {kind}"));
        Ok(())
    }

    fn pick_incident(&mut self) -> Option<IncidentId> {
        if self.ids.is_empty() {
            return None;
        }
        // Mostly recent incidents, sometimes any.
        let n = self.ids.len() as u64;
        let i = if self.rng.chance(700) {
            n - 1 - self.rng.below(n.min(6))
        } else {
            self.rng.below(n)
        };
        Some(self.ids[i as usize])
    }

    fn ingest(&mut self, d: usize) {
        let now = self.now();
        let alert = if !self.sent.is_empty() && self.rng.chance(150) {
            // The same delivery again.
            self.sent[self.rng.below(self.sent.len() as u64) as usize].clone()
        } else {
            let k = self.rng.below(6);
            let service = ["till", "web shop", "wifi"][(k % 3) as usize];
            let source = if k < 3 { "uptime" } else { "prometheus" };
            let starts = now - Duration::seconds(self.rng.below(600) as i64);
            let mut alert = Alert::firing(
                source,
                &format!("check-{k}"),
                service,
                "Check failing",
                starts,
            )
            .expect("a valid alert");
            if self.rng.chance(300) {
                alert = alert.resolved();
            }
            if self.rng.chance(400) {
                alert = alert.with_severity(*self.rng.pick(&[
                    Severity::Critical,
                    Severity::High,
                    Severity::Low,
                ]));
            }
            if self.sent.len() < 64 {
                self.sent.push(alert.clone());
            } else {
                let i = self.rng.below(64) as usize;
                self.sent[i] = alert.clone();
            }
            alert
        };
        self.trace(format!("ingest {} {:?}", alert.key(), alert.state()));
        let Some(desk) = self.desk(d) else { return };
        match desk.ingest(&alert) {
            Ok(ingested) => {
                let name = format!("{ingested:?}");
                let name = name.split([' ', '{', '(']).next().unwrap_or_default();
                let text = format!(" -> {name}");
                let label = match ingested.incident() {
                    Some(id) => format!("{text} {id}"),
                    None => text,
                };
                self.trace(label);
            }
            Err(e) => {
                self.note_error(&e);
            }
        }
    }

    fn open(&mut self, d: usize) {
        let severity = *self
            .rng
            .pick(&[Severity::Critical, Severity::High, Severity::Low]);
        let actor = self.people[self.rng.below(3) as usize].clone();
        let incident = NewIncident::new(
            "Customer says the card reader is down",
            severity,
            "till",
            Source::StaffReport,
        )
        .expect("a valid incident");
        self.trace(format!("open {severity:?} by {}", actor.id()));
        let Some(desk) = self.desk(d) else { return };
        match desk.open(&actor, incident) {
            Ok(receipt) => self.trace(format!(" -> {} v{}", receipt.id, receipt.version.get())),
            Err(e) => {
                self.note_error(&e);
            }
        }
    }

    /// A person's command on some incident; returns whether it may be refused.
    fn act(&mut self, d: usize) -> bool {
        let Some(id) = self.pick_incident() else {
            self.trace("act on nothing");
            return false;
        };
        let actor = self.people[self.rng.below(3) as usize].clone();
        let other = self.pick_incident();
        let command = match self.rng.below(15) {
            0 | 1 => Command::Acknowledge,
            2 => Command::StartInvestigating,
            3 => Command::identify("A loose cable").expect("valid"),
            4 => Command::mitigate("Restarted the router").expect("valid"),
            5 | 6 => Command::Resolve {
                resolution: *self.rng.pick(&[
                    Resolution::Fixed,
                    Resolution::Workaround,
                    Resolution::FalseAlarm,
                ]),
            },
            7 => Command::reopen("It is back").expect("valid"),
            8 => Command::close("Router restarted", "Label the cables").expect("valid"),
            9 => Command::note("Called the vendor").expect("valid"),
            10 => Command::customer_update("We are on it").expect("valid"),
            11 => Command::change_severity(
                *self
                    .rng
                    .pick(&[Severity::Critical, Severity::High, Severity::Low]),
                "Reassessed",
            )
            .expect("valid"),
            12 => Command::wait_for_vendor("PayCo", None).expect("valid"),
            // Two incidents at once (one atomic append of both), sometimes refused (itself,
            // a closed one, a duplicate).
            13 => Command::Merge {
                into: other.unwrap_or(id),
            },
            _ => Command::vendor_responded(None).expect("valid"),
        };
        self.trace(format!("{} {id} by {}", command.kind(), actor.id()));
        let Some(desk) = self.desk(d) else {
            return true;
        };
        match desk.act(id, &actor, command) {
            Ok(receipt) => {
                let version = receipt.version;
                let held = desk.get(id).map(|i| i.version());
                self.trace(format!(" -> v{} +{}", version.get(), receipt.events.len()));
                // The desk's own copy is at the version it reported.
                if let Ok(held) = held
                    && held != version
                {
                    self.line.push_str(&format!(
                        " !! desk holds v{} after reporting v{}",
                        held.get(),
                        version.get()
                    ));
                }
                false
            }
            Err(e) => {
                self.note_error(&e);
                !self.troubled
            }
        }
    }

    fn tick(&mut self, d: usize) {
        let now = self.now();
        self.trace("tick");
        let Some(desk) = self.desk(d) else { return };
        match desk.tick(now) {
            Ok(report) => {
                self.trace(format!(
                    " -> fired {} notified {}",
                    report.fired.len(),
                    report.notifications
                ));
                if !report.failed.is_empty() {
                    self.line
                        .push_str(&format!(" !! timers stopped: {:?}", report.failed));
                }
            }
            Err(e) => {
                self.note_error(&e);
            }
        }
    }

    fn draw_moods(&mut self) {
        let moods: Vec<Mood> = (0..1 + self.rng.below(4))
            .map(|_| match self.rng.below(100) {
                0..70 => Mood::Delivers,
                70..85 => Mood::Fails,
                85..89 => Mood::Permanent,
                89..97 => Mood::TimesOut,
                _ => Mood::DeliversThenCrashes,
            })
            .collect();
        self.trace(format!("{moods:?} "));
        self.notifier.set_moods(moods);
    }

    fn after_delivery(&mut self) {
        if self.notifier.take_crash() {
            self.trace(" (crashed after a delivery)");
            self.troubled = true;
        }
    }

    fn dispatch(&mut self, d: usize) {
        self.draw_moods();
        self.trace("dispatch");
        let Some(desk) = self.desk(d) else { return };
        match desk.dispatch(&self.notifier) {
            Ok(report) => self.trace(format!(
                " -> delivered {} failed {} gave up {}",
                report.delivered.len(),
                report.failed,
                report.gave_up
            )),
            Err(e) => {
                self.note_error(&e);
            }
        }
        self.after_delivery();
    }

    fn run_due(&mut self, d: usize) {
        self.draw_moods();
        self.trace("run_due");
        let Some(desk) = self.desk(d) else { return };
        match desk.run_due(&self.notifier) {
            Ok(report) => self.trace(format!(
                " -> fired {} delivered {}",
                report.fired.len(),
                report.delivered.len()
            )),
            Err(e) => {
                self.note_error(&e);
            }
        }
        self.after_delivery();
    }

    fn advance(&mut self, d: usize) {
        let now = self.now();
        let to = match (
            self.rng.below(3),
            self.desk(d).and_then(Desk::next_deadline),
        ) {
            (0, Some(next)) if next > now => next,
            (1, _) => now + Duration::minutes(1 + self.rng.below(60) as i64),
            _ => now + Duration::seconds(1 + self.rng.below(300) as i64),
        };
        self.clock.set(to);
        self.trace(format!("clock +{}s", (to - now).num_seconds()));
    }

    fn catch_up(&mut self, d: usize) {
        self.trace("catch up");
        let Some(desk) = self.desk(d) else { return };
        match desk.catch_up() {
            Ok(c) => self.trace(format!(" -> applied {} new {}", c.applied, c.new_incidents)),
            Err(e) => {
                self.note_error(&e);
            }
        }
    }

    fn snapshot(&mut self, d: usize) {
        self.trace("snapshot");
        let Some(desk) = self.desk(d) else { return };
        match desk.save_snapshot() {
            Ok(saved) => {
                self.counts.snapshots_saved += u64::from(saved.is_some());
                self.trace(if saved.is_some() {
                    " -> saved"
                } else {
                    " -> nothing"
                });
            }
            Err(e) => {
                self.note_error(&e);
            }
        }
    }

    fn arm_fault(&mut self) {
        if self.backend != Backend::File {
            self.trace("no disk faults on this backend");
            return;
        }
        if self.disk.armed() {
            self.trace("fault already armed");
            return;
        }
        let fault = if self.rng.chance(600) {
            Armed::Write {
                n: self.rng.below(8),
                keep: if self.rng.chance(500) {
                    0
                } else {
                    self.rng.below(300)
                },
                full: self.rng.chance(500),
            }
        } else {
            Armed::Sync {
                n: self.rng.below(8),
            }
        };
        self.trace(format!("arm {fault:?}"));
        self.disk.arm(fault);
    }

    /// After every step: what the desks appended in it, checked against the model.
    fn check_step(&mut self, may_be_refused: bool) -> Result<(), Violation> {
        // What reached the store first (the model), then what the desks said.
        let fresh = std::mem::take(&mut lock(&self.journal).fresh);
        let recorded = !fresh.is_empty();
        for attempt in fresh {
            self.fold_acked(&attempt).map_err(|e| self.fail(e))?;
        }
        if may_be_refused && self.last_line_refused() && recorded {
            return Err(self.fail("a refused command recorded something"));
        }
        if let Some(problem) = self.line_problem() {
            return Err(self.fail(problem));
        }
        Ok(())
    }

    fn line_problem(&self) -> Option<String> {
        let last = self.recent.last()?;
        last.find(" !! ").map(|at| last[at + 4..].to_string())
    }

    fn last_line_refused(&self) -> bool {
        self.recent.last().is_some_and(|l| {
            l.contains(" -> rejected") || l.contains(" -> forbidden") || l.contains(" -> not found")
        })
    }

    fn note_id(&mut self, id: IncidentId) {
        if !self.streams.contains_key(&id) {
            self.ids.push(id);
            self.streams.insert(id, Stream::default());
        }
    }

    fn fold_acked(&mut self, attempt: &Attempt) -> Check {
        self.note_id(attempt.id);
        let known = self
            .streams
            .get(&attempt.id)
            .map_or(0, |s| s.events.len() as u64);
        if known != attempt.expected.get() {
            // An append whose outcome was unknown landed before this one: read the truth.
            return self.reload(attempt.id);
        }
        let stream = self.streams.get_mut(&attempt.id).ok_or("no stream")?;
        for event in &attempt.events {
            stream
                .fold(event, &self.notifier, &self.backoff)
                .map_err(|e| format!("incident {}: {e}", attempt.id))?;
        }
        Ok(())
    }

    fn store(&self) -> Result<&Recorder, String> {
        self.store.as_ref().ok_or_else(|| "no store".to_string())
    }

    fn reload(&mut self, id: IncidentId) -> Check {
        let events = self
            .store()?
            .load(id)
            .map_err(|e| format!("loading {id}: {e}"))?;
        let mut stream = Stream::default();
        for event in &events {
            stream
                .fold(event, &self.notifier, &self.backoff)
                .map_err(|e| format!("incident {id}: {e}"))?;
        }
        self.note_id(id);
        self.streams.insert(id, stream);
        Ok(())
    }

    /// Everything at once: the store against every append acknowledged, every projection
    /// against a replay, the SLA clocks against the recorded warnings.
    fn full_check(&mut self) -> Result<(), Violation> {
        self.full_check_inner().map_err(|e| self.fail(e))
    }

    fn full_check_inner(&mut self) -> Check {
        let fresh = std::mem::take(&mut lock(&self.journal).fresh);
        for attempt in fresh {
            self.fold_acked(&attempt)?;
        }
        // Every stream, as the store has it.
        let mut stored: BTreeMap<IncidentId, Vec<Event>> = BTreeMap::new();
        self.store()?
            .scan(&mut |id, _, event| {
                stored.entry(id).or_default().push(event.clone());
                Ok(())
            })
            .map_err(|e| format!("scanning the store: {e}"))?;
        {
            let journal = lock(&self.journal);
            // (1) Nothing acknowledged lost or changed.
            for a in &journal.acked {
                let stream = stored.get(&a.id).map_or(&[][..], Vec::as_slice);
                let from = a.expected.get() as usize;
                if stream.get(from..from + a.events.len()) != Some(&a.events[..]) {
                    return Err(format!(
                        "acknowledged append to {} at v{} ({} events) is not in the store as written (the store holds {} events)",
                        a.id,
                        from,
                        a.events.len(),
                        stream.len()
                    ));
                }
            }
            // (2) Nothing in the store that nobody appended, and no append in part.
            let mut by_start: HashMap<(IncidentId, u64), Vec<&Attempt>> = HashMap::new();
            for a in journal.acked.iter().chain(&journal.unsure) {
                by_start
                    .entry((a.id, a.expected.get()))
                    .or_default()
                    .push(a);
            }
            for (id, stream) in &stored {
                let mut pos = 0;
                while pos < stream.len() {
                    let found = by_start.get(&(*id, pos as u64)).and_then(|candidates| {
                        candidates
                            .iter()
                            .find(|a| stream.get(pos..pos + a.events.len()) == Some(&a.events[..]))
                    });
                    match found {
                        Some(a) => pos += a.events.len(),
                        None => {
                            return Err(format!(
                                "the store holds events of {id} from v{pos} that no append wrote whole"
                            ));
                        }
                    }
                }
            }
        }
        // (3) Every stream a legal path, keys unique (the model, rebuilt from the store).
        for (id, events) in &stored {
            let same = self.streams.get(id).is_some_and(|s| s.events == *events);
            if !same {
                self.reload(*id)?;
            }
        }
        for id in self.streams.keys() {
            if !stored.contains_key(id) && !self.streams[id].events.is_empty() {
                return Err(format!("incident {id} vanished from the store"));
            }
        }
        // (4) Every desk's projection is the replay of the store.
        let now = self.now();
        let mut replays = Vec::with_capacity(stored.len());
        for (id, events) in &stored {
            let replayed = Incident::replay(*id, events)
                .map_err(|e| format!("the stored history of {id} does not replay: {e}"))?;
            replays.push(replayed);
        }
        for (d, desk) in self.desks.iter().enumerate() {
            let Some(desk) = desk else { continue };
            let caught = match desk.catch_up() {
                Ok(c) => c,
                Err(e) => return Err(format!("desk {d} cannot catch up: {e}")),
            };
            for ((id, events), replayed) in stored.iter().zip(&replays) {
                let held = desk
                    .get(*id)
                    .map_err(|e| format!("desk {d} lacks {id} after catching up: {e}"))?;
                if held != *replayed {
                    let feed = self
                        .store()?
                        .feed(0, usize::MAX)
                        .map_err(|e| e.to_string())?
                        .unwrap_or_default();
                    let positions: Vec<(u64, u64)> = feed
                        .iter()
                        .filter(|item| item.incident == *id)
                        .map(|item| (item.position, item.version.get()))
                        .collect();
                    return Err(format!(
                        "desk {d}'s copy of {id} (v{}) differs from the replay of the store (v{}); catch-up {caught:?}; feed positions of it (position, version): {positions:?}; log end {:?}",
                        held.version().get(),
                        replayed.version().get(),
                        self.store()?.log_end()
                    ));
                }
                // (5) A breach recorded since the last reopening or change of severity is a
                // breach by the SLA clock now.
                let mut breached = Vec::new();
                for event in events {
                    match &event.change {
                        Change::TimerFired {
                            timer: Timer::SlaBreached { target, .. },
                        } => breached.push(*target),
                        // A new cycle, or targets of another severity.
                        Change::Reopened { .. } | Change::SeverityChanged { .. } => {
                            breached.clear();
                        }
                        _ => {}
                    }
                }
                {
                    for target in &breached {
                        let state = sla_status(&held, &self.policy, now)
                            .into_iter()
                            .find(|s| s.target == *target)
                            .map(|s| s.state);
                        if !matches!(state, None | Some(SlaState::Breached)) {
                            return Err(format!(
                                "{id}: a {target:?} breach was recorded but sla_status says {state:?} at {now}; history: {:?}",
                                events
                                    .iter()
                                    .map(|e| format!(
                                        "{} {}",
                                        e.at.format("%d %H:%M:%S"),
                                        match &e.change {
                                            Change::TimerFired { timer } => timer.key(),
                                            other => other.name().to_string(),
                                        }
                                    ))
                                    .collect::<Vec<_>>()
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The end of a run: the disk heals, the notifier works, one desk runs two days ahead;
    /// then every requested notification must be delivered or given up, and the report must
    /// count what the model counts.
    fn settle(&mut self) -> Result<(), Violation> {
        self.disk.disarm();
        self.notifier.set_moods(Vec::new());
        if self.troubled || self.store.is_none() {
            self.trace("settle: reopen");
            self.end_line();
            self.restart_process(false).map_err(|e| self.fail(e))?;
        }
        let until = self.now() + Duration::days(2);
        self.trace("settle: run two days");
        self.end_line();
        let desk = self.desks[0].as_ref().ok_or_else(|| self.fail("no desk"))?;
        desk.catch_up()
            .map_err(|e| self.fail(format!("settle: {e}")))?;
        if let Err(e) = desk.run_until(until, &self.notifier) {
            return Err(self.fail(format!("settling: {e}")));
        }
        self.check_step(false)?;
        self.full_check()?;
        for (id, stream) in &self.streams {
            for key in &stream.requested {
                if !stream.settled.contains(key) {
                    return Err(self.fail(format!(
                        "{id}: notification {key} neither delivered nor given up after two quiet days"
                    )));
                }
            }
        }
        self.check_breaches_fired()?;
        self.check_report()
    }

    /// After the settling run ticked at the clock's now: every active incident whose resolve
    /// target `sla_status` calls breached has its breach warning recorded, and so has one
    /// whose acknowledge target it calls breached while that clock still runs (never
    /// acknowledged or resolved, a monitor still firing). A clock stopped for good before a
    /// tick saw its limit (acknowledged late between two ticks) is breached in reports but
    /// warns nobody: there is nobody left to warn.
    fn check_breaches_fired(&mut self) -> Result<(), Violation> {
        let now = self.now();
        let desk = self.desks[0].as_ref().ok_or_else(|| self.fail("no desk"))?;
        for (id, stream) in &self.streams {
            let incident = desk
                .get(*id)
                .map_err(|e| self.fail(format!("settle: {id}: {e}")))?;
            if !incident.is_active() {
                continue;
            }
            for status in sla_status(&incident, &self.policy, now) {
                if status.state != SlaState::Breached {
                    continue;
                }
                let key = match status.target {
                    SlaTarget::Resolve => "sla/resolve/breached",
                    SlaTarget::Acknowledge
                        if incident.acknowledged_at().is_none()
                            && incident.first_resolved_at().is_none()
                            && !incident.signals_all_resolved() =>
                    {
                        "sla/acknowledge/breached"
                    }
                    _ => continue,
                };
                if !stream.timer_keys.contains(key) {
                    return Err(self.fail(format!(
                        "{id}: sla_status says its {:?} target is breached at {now}, but no {key} warning was recorded; its history: {}",
                        status.target,
                        history(&stream.events)
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_report(&mut self) -> Result<(), Violation> {
        let now = self.now();
        let desk = self.desks[0].as_ref().ok_or_else(|| self.fail("no desk"))?;
        let window = incidents::report::Window::new(self.start, now + Duration::seconds(1))
            .map_err(|e| self.fail(format!("window: {e}")))?;
        let report = desk
            .report(window)
            .map_err(|e| self.fail(format!("report: {e}")))?;
        let mut total = 0;
        let mut still_open = 0;
        let mut by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
        let mut by_source: BTreeMap<Source, usize> = BTreeMap::new();
        for stream in self.streams.values() {
            let mut severity = None;
            let mut source = None;
            let mut opened = None;
            for event in &stream.events {
                match &event.change {
                    Change::Opened {
                        severity: s,
                        source: src,
                        ..
                    } => {
                        severity = Some(*s);
                        source = Some(*src);
                        opened = Some(event.at);
                    }
                    Change::SeverityChanged { to, .. } => severity = Some(*to),
                    _ => {}
                }
            }
            let (Some(severity), Some(source), Some(opened)) = (severity, source, opened) else {
                continue;
            };
            if opened < self.start || opened > now {
                continue;
            }
            total += 1;
            *by_severity.entry(severity).or_default() += 1;
            *by_source.entry(source).or_default() += 1;
            if !matches!(stream.status, Some(Status::Resolved | Status::Closed)) {
                still_open += 1;
            }
        }
        let nonzero = |m: &BTreeMap<Severity, usize>| -> BTreeMap<Severity, usize> {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (*k, *n))
                .collect()
        };
        let nonzero_source = |m: &BTreeMap<Source, usize>| -> BTreeMap<Source, usize> {
            m.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| (*k, *n))
                .collect()
        };
        let volume = &report.opened;
        if volume.total != total
            || volume.still_open != still_open
            || nonzero(&volume.by_severity) != by_severity
            || nonzero_source(&volume.by_source) != by_source
        {
            return Err(self.fail(format!(
                "the report counts {} opened ({} still open, {:?}, {:?}); the model {} ({} still open, {:?}, {:?})",
                volume.total,
                volume.still_open,
                nonzero(&volume.by_severity),
                nonzero_source(&volume.by_source),
                total,
                still_open,
                by_severity,
                by_source
            )));
        }
        Ok(())
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for desk in &mut self.desks {
            *desk = None;
        }
        self.store = None;
        let _ = std::fs::remove_dir_all(&self.dir);
        incidents::testing::seed_incident_ids(None);
        incidents::testing::pipeline_scans_from(None);
        incidents::testing::open_reads_in(None);
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An incident's history in one line: each event's time and kind (a timer's key).
fn history(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| {
            let what = match &e.change {
                Change::TimerFired { timer } => timer.key(),
                other => other.name().to_string(),
            };
            format!("{} {what}", e.at.format("%d %H:%M:%S"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
