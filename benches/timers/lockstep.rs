//! A desk and its baseline set moved tick by tick in step, and the checks made on a freshly
//! built desk before any measurement.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hint::black_box;

use chrono::Duration;
use incidents::lifecycle::Timer;
use incidents::{Event, IncidentId, MemoryStore, Store, Version};

use super::{Baseline, DUE_PER_TICK, FIRST_PAGE, Timed, desk_tick, set_tick, set_tick_with};

/// Checks, outside the measurements, what the bench claims of a freshly built desk: the next
/// deadline is the first group's, a tick then fires the first escalation step of exactly ten
/// incidents and queues them a period later, and a tick in between fires nothing. Consumes
/// the first group (instant 0).
fn check(timed: &Timed) {
    let desk = &timed.desk;
    assert_eq!(desk.next_deadline(), Some(Timed::instant(0)));
    let before = Timed::instant(0) - Duration::milliseconds(500);
    assert!(desk.tick(before).unwrap().fired.is_empty());
    let report = desk.tick(Timed::instant(0)).unwrap();
    assert_eq!(report.fired.len(), DUE_PER_TICK);
    for (id, timer) in &report.fired {
        assert!(
            matches!(
                timer,
                Timer::Escalation {
                    round: 0,
                    step: 0,
                    ..
                }
            ),
            "{timer:?}"
        );
        let incident = desk.get(*id).unwrap();
        assert_eq!(
            incident.version().get(),
            3,
            "opened, timer fired, notification"
        );
        assert_eq!(incident.created_at() + FIRST_PAGE, Timed::instant(0));
    }
    // The pending notifications now come first; the next timer is the next group's.
    assert_eq!(desk.next_deadline(), Some(Timed::instant(0)));
    let between = Timed::instant(1) - Duration::milliseconds(500);
    assert!(desk.tick(between).unwrap().fired.is_empty());
    let mut set = timed.set.clone();
    set_tick(&mut set, timed.period, 0);
    assert_eq!(set.len(), timed.set.len());
}

/// The events a tick records on one due incident (its timer fired, the page requested), as
/// the desk recorded them at instant 0.
fn recorded_per_incident(timed: &Timed) -> Vec<Event> {
    let first = timed
        .set
        .first()
        .map(|(_, id)| *id)
        .expect("a desk with incidents");
    let history = timed.desk.history(first).unwrap();
    assert_eq!(history.len(), 3, "opened, timer fired, notification");
    history[1..].to_vec()
}

/// The baseline for a tick with ten due: the same bare set moved the same way, plus a
/// bare `MemoryStore` append of the same two events for each due incident (twenty per tick),
/// each at the incident's version, found in a `HashMap`.
pub struct Recorded {
    set: RefCell<Baseline>,
    store: MemoryStore,
    versions: RefCell<HashMap<IncidentId, Version>>,
    events: Vec<Event>,
    next: Cell<u64>,
}

impl Recorded {
    fn new(timed: &Timed) -> Recorded {
        let mut set = timed.set.clone();
        set_tick(&mut set, timed.period, 0);
        Recorded {
            set: RefCell::new(set),
            store: MemoryStore::new(),
            versions: RefCell::new(HashMap::with_capacity(timed.set.len())),
            events: recorded_per_incident(timed),
            next: Cell::new(1),
        }
    }

    /// `count` baseline ticks: pop the ten due, append their two events, re-insert.
    pub fn ticks(&self, period: Duration, count: usize) -> u64 {
        let mut set = self.set.borrow_mut();
        let mut versions = self.versions.borrow_mut();
        let first = self.next.get();
        for k in first..first + count as u64 {
            set_tick_with(&mut set, period, k, |id| {
                let version = versions.entry(id).or_insert(Version::ZERO);
                *version = self.store.append(id, *version, &self.events).unwrap();
            });
        }
        self.next.set(first + count as u64);
        count as u64
    }
}

/// A desk and its baseline set, each moved on one instant per tick, independently (the
/// desk's workloads and the set's run alternately).
pub struct Lockstep {
    pub timed: Timed,
    pub set: RefCell<Baseline>,
    /// The next instant each of them ticks at.
    pub desk_next: Cell<u64>,
    pub set_next: Cell<u64>,
    /// The set with the store appends of the same events.
    pub recorded: Recorded,
}

impl Lockstep {
    /// Checks the desk (which consumes instant 0) and brings the set to the same point.
    pub fn new(timed: Timed) -> Lockstep {
        check(&timed);
        let mut set = timed.set.clone();
        set_tick(&mut set, timed.period, 0);
        let recorded = Recorded::new(&timed);
        Lockstep {
            recorded,
            timed,
            set: RefCell::new(set),
            desk_next: Cell::new(1),
            set_next: Cell::new(1),
        }
    }

    /// `count` desk ticks with ten due each.
    pub fn desk_ticks(&self, count: usize) -> u64 {
        let first = self.desk_next.get();
        for k in first..first + count as u64 {
            desk_tick(&self.timed.desk, k);
        }
        self.desk_next.set(first + count as u64);
        count as u64
    }

    /// `count` baseline ticks with ten due each.
    pub fn set_ticks(&self, count: usize) -> u64 {
        let mut set = self.set.borrow_mut();
        let first = self.set_next.get();
        for k in first..first + count as u64 {
            set_tick(&mut set, self.timed.period, k);
        }
        self.set_next.set(first + count as u64);
        count as u64
    }

    /// `count` desk ticks half a second before the next group is due: nothing is.
    pub fn empty_desk_ticks(&self, count: usize) -> u64 {
        let now = Timed::instant(self.desk_next.get()) - Duration::milliseconds(500);
        for _ in 0..count {
            assert!(self.timed.desk.tick(now).unwrap().fired.is_empty());
        }
        count as u64
    }

    /// The baseline of an empty tick: is the first entry due?
    pub fn empty_set_ticks(&self, count: usize) -> u64 {
        let set = self.set.borrow();
        let now = Timed::instant(self.set_next.get()) - Duration::milliseconds(500);
        for _ in 0..count {
            let due = black_box(&*set).first().is_some_and(|(at, _)| *at <= now);
            assert!(!black_box(due));
        }
        count as u64
    }

    /// `count` calls of `next_deadline`.
    pub fn next_deadlines(&self, count: usize) -> u64 {
        for _ in 0..count {
            black_box(self.timed.desk.next_deadline());
        }
        count as u64
    }

    /// `count` calls of `first` on the set.
    pub fn firsts(&self, count: usize) -> u64 {
        let set = self.set.borrow();
        for _ in 0..count {
            black_box(black_box(&*set).first().map(|(at, _)| *at));
        }
        count as u64
    }
}
