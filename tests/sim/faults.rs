//! The simulator's seeded randomness and its faulty world: a disk that forgets what was not
//! flushed when the power goes, tears the last write, and fails chosen writes and flushes;
//! a notifier that fails, times out, or delivers and then loses the process.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use incidents::Notifier;
use incidents::lifecycle::Notification;
use incidents::notify::DeliveryError;
use incidents::store::file::FaultHook;

/// splitmix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often each fault happened in a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultCounts {
    pub write_failed: u64,
    pub write_torn_by_failure: u64,
    pub sync_failed: u64,
    pub power_losses: u64,
    pub clean_reopens: u64,
    /// Unflushed writes a power loss found, and of them the ones it cut (lost whole, or
    /// torn at a byte).
    pub unflushed_at_power_loss: u64,
    pub unflushed_cut: u64,
    pub desk_restarts: u64,
    pub snapshots_saved: u64,
    /// Store opens that resumed from an index checkpoint instead of reading every frame.
    pub opens_from_checkpoint: u64,
    pub notifier_failed: u64,
    pub notifier_gave_permanent: u64,
    pub notifier_timed_out: u64,
    pub notifier_crashed_after_delivery: u64,
    pub conflicts_between_desks: u64,
    pub refused_commands: u64,
}

impl FaultCounts {
    pub fn add(&mut self, other: &FaultCounts) {
        self.write_failed += other.write_failed;
        self.write_torn_by_failure += other.write_torn_by_failure;
        self.sync_failed += other.sync_failed;
        self.power_losses += other.power_losses;
        self.clean_reopens += other.clean_reopens;
        self.unflushed_at_power_loss += other.unflushed_at_power_loss;
        self.unflushed_cut += other.unflushed_cut;
        self.desk_restarts += other.desk_restarts;
        self.snapshots_saved += other.snapshots_saved;
        self.opens_from_checkpoint += other.opens_from_checkpoint;
        self.notifier_failed += other.notifier_failed;
        self.notifier_gave_permanent += other.notifier_gave_permanent;
        self.notifier_timed_out += other.notifier_timed_out;
        self.notifier_crashed_after_delivery += other.notifier_crashed_after_delivery;
        self.conflicts_between_desks += other.conflicts_between_desks;
        self.refused_commands += other.refused_commands;
    }
}

/// A fault armed for a coming disk call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Armed {
    /// The `n`-th write from now writes `keep` of its bytes (capped at its length) and fails
    /// (`full`: ENOSPC, else EIO).
    Write { n: u64, keep: u64, full: bool },
    /// The `n`-th flush from now fails with EIO.
    Sync { n: u64 },
}

#[derive(Debug, Default)]
struct DiskState {
    /// Writes not yet flushed, per file, oldest first.
    unsynced: BTreeMap<PathBuf, Vec<(u64, u64)>>,
    armed: Option<Armed>,
    counts: FaultCounts,
}

/// The simulated disk: the real files of a directory on tmpfs, with the crate's fault hook
/// keeping track of which bytes were flushed. A power loss keeps every flushed byte, keeps a
/// random prefix of the writes since the last flush of each file (cutting the last kept one
/// at a random byte), and loses the rest — zeroed in place or cut off the file's end, as file
/// systems do both.
#[derive(Debug, Default)]
pub struct Disk {
    state: Mutex<DiskState>,
}

impl Disk {
    pub fn arm(&self, fault: Armed) {
        lock(&self.state).armed = Some(fault);
    }

    pub fn armed(&self) -> bool {
        lock(&self.state).armed.is_some()
    }

    pub fn disarm(&self) {
        lock(&self.state).armed = None;
    }

    pub fn counts(&self) -> FaultCounts {
        lock(&self.state).counts
    }

    /// Forgets the writes not flushed (the process ends but the machine does not: they stay).
    pub fn forget_unsynced(&self) {
        lock(&self.state).unsynced.clear();
    }

    /// The power goes: what was not flushed is lost, the last kept write torn.
    pub fn power_loss(&self, rng: &mut Rng) -> io::Result<()> {
        let mut state = lock(&self.state);
        state.counts.power_losses += 1;
        state.armed = None;
        let unsynced = std::mem::take(&mut state.unsynced);
        for (path, writes) in unsynced {
            if !path.exists() {
                continue; // renamed or removed since
            }
            // Writes 0..keep survive whole, write `keep` survives in part, the rest are lost.
            let keep = rng.below(writes.len() as u64 + 1) as usize;
            state.counts.unflushed_at_power_loss += writes.len() as u64;
            let file = OpenOptions::new().write(true).open(&path)?;
            let mut len = file.metadata()?.len();
            for (i, &(offset, size)) in writes.iter().enumerate().skip(keep).rev() {
                let kept = if i == keep { rng.below(size + 1) } else { 0 };
                if kept < size {
                    state.counts.unflushed_cut += 1;
                }
                let from = offset + kept;
                let to = offset + size;
                if from >= to || from >= len {
                    continue;
                }
                if to >= len && rng.chance(500) {
                    file.set_len(from)?;
                    len = from;
                } else {
                    let zeros = vec![0u8; (to.min(len) - from) as usize];
                    std::os::unix::fs::FileExt::write_all_at(&file, &zeros, from)?;
                }
            }
        }
        Ok(())
    }
}

impl FaultHook for Disk {
    fn on_write(&self, path: &Path, offset: u64, len: usize) -> Option<(usize, io::Error)> {
        let mut state = lock(&self.state);
        let len = len as u64;
        let fault = match state.armed {
            Some(Armed::Write { n: 0, keep, full }) => {
                state.armed = None;
                state.counts.write_failed += 1;
                let keep = keep.min(len);
                if keep > 0 {
                    state.counts.write_torn_by_failure += 1;
                }
                let error = if full {
                    io::Error::from(io::ErrorKind::StorageFull)
                } else {
                    io::Error::other("simulated EIO")
                };
                Some((keep, error))
            }
            Some(Armed::Write { n, keep, full }) => {
                state.armed = Some(Armed::Write {
                    n: n - 1,
                    keep,
                    full,
                });
                None
            }
            _ => None,
        };
        let written = fault.as_ref().map_or(len, |(keep, _)| *keep);
        if written > 0 {
            state
                .unsynced
                .entry(path.to_path_buf())
                .or_default()
                .push((offset, written));
        }
        fault.map(|(keep, error)| (keep as usize, error))
    }

    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        let mut state = lock(&self.state);
        match state.armed {
            Some(Armed::Sync { n: 0 }) => {
                state.armed = None;
                state.counts.sync_failed += 1;
                return Some(io::Error::other("simulated EIO on flush"));
            }
            Some(Armed::Sync { n }) => state.armed = Some(Armed::Sync { n: n - 1 }),
            _ => {}
        }
        // A directory's flush makes no file's data durable.
        state.unsynced.remove(path);
        None
    }
}

/// What the notifier does with the next delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    Delivers,
    Fails,
    Permanent,
    /// Delivers, but the host hears a timeout.
    TimesOut,
    /// Delivers, then the process dies before the delivery is recorded: the next write fails.
    DeliversThenCrashes,
}

#[derive(Debug, Default)]
struct NotifierState {
    moods: Vec<Mood>,
    /// Every delivery that reached a recipient, by key, with how many times.
    delivered: HashMap<String, u32>,
    counts: FaultCounts,
    crashed: bool,
}

/// The notifier: its next moods are drawn by the world before each dispatch.
#[derive(Debug)]
pub struct SimNotifier {
    state: Mutex<NotifierState>,
    disk: Arc<Disk>,
}

impl SimNotifier {
    pub fn new(disk: Arc<Disk>) -> SimNotifier {
        SimNotifier {
            state: Mutex::default(),
            disk,
        }
    }

    /// The moods of the next deliveries (the last repeats); empty: always delivers.
    pub fn set_moods(&self, moods: Vec<Mood>) {
        lock(&self.state).moods = moods;
    }

    pub fn delivered_count(&self, key: &str) -> u32 {
        lock(&self.state).delivered.get(key).copied().unwrap_or(0)
    }

    /// Whether a delivery "crashed the process" since the last call.
    pub fn take_crash(&self) -> bool {
        std::mem::take(&mut lock(&self.state).crashed)
    }

    pub fn counts(&self) -> FaultCounts {
        lock(&self.state).counts
    }
}

impl Notifier for SimNotifier {
    fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let mut state = lock(&self.state);
        let mood = match state.moods.len() {
            0 => Mood::Delivers,
            1 => state.moods[0],
            _ => state.moods.remove(0),
        };
        let mut reached = || {
            *state.delivered.entry(notification.key.clone()).or_default() += 1;
        };
        match mood {
            Mood::Delivers => {
                reached();
                Ok(())
            }
            Mood::Fails => {
                state.counts.notifier_failed += 1;
                Err(DeliveryError::new("simulated: mail server said try later"))
            }
            Mood::Permanent => {
                state.counts.notifier_gave_permanent += 1;
                Err(DeliveryError::permanent("simulated: no such mailbox"))
            }
            Mood::TimesOut => {
                reached();
                state.counts.notifier_timed_out += 1;
                Err(DeliveryError::new("simulated: timed out"))
            }
            Mood::DeliversThenCrashes => {
                reached();
                state.counts.notifier_crashed_after_delivery += 1;
                state.crashed = true;
                // The rest of this dispatch happens in a process that is already gone:
                // nothing it writes may reach the disk.
                state.moods.clear();
                self.disk.arm(Armed::Write {
                    n: 0,
                    keep: 0,
                    full: false,
                });
                Ok(())
            }
        }
    }
}
