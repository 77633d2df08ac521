//! The index checkpoint against hostile files and busy stores: checkpoints whose checksum
//! is valid but whose contents are wrong (a forged file, or a bug in the writer), and
//! checkpoints saved while other threads append.
//!
//! What a checkpoint that passes its checksum and its mark can still do, by design: hide the
//! end of the history of an incident with no event after its point (all of it, if it leaves
//! the incident out) — the store cannot see those events without reading the log, and an
//! append to such an incident writes a version the log holds, which the next full scan
//! reports — and say that totals are other than they are. What it must never do: panic or
//! allocate without bound, make a sound log unopenable, make a read return other events than
//! the log's (or skip some in the middle) without an error, or let an append write a version
//! twice for an incident whose frames it lists.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use incidents::store::file::{CHECKPOINT_FILE, Durability};
use incidents::store::{FileStore, FileStoreOptions};
use incidents::{Error, IncidentId, Store, Version};

use crate::file_crash::{Model, apply_plan, evs, model_of, scanned, segment_files};
use crate::support::nth_id;

// ---------------------------------------------------------------------------------------------
// the checkpoint's bytes, parsed and re-encoded (with a valid CRC), written here apart from
// the crate's encoder so that the layout is checked against a second reading of it

#[derive(Debug, Clone)]
pub(crate) struct Cp {
    lens: Vec<u64>,
    mark: [u8; 8],
    frames: u64,
    events: u64,
    incidents: Vec<Inc>,
}

#[derive(Debug, Clone)]
struct Inc {
    id: [u8; 16],
    durable: u64,
    /// (segment step, offset delta, len)
    frames: Vec<(u64, u64, u64)>,
}

fn uint(b: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*at];
        *at += 1;
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn parse(bytes: &[u8]) -> Cp {
    assert_eq!(&bytes[..8], b"INCIDX01");
    let body = &bytes[20..];
    let mut at = 0;
    let n = uint(body, &mut at);
    let lens = (0..n).map(|_| uint(body, &mut at)).collect();
    let mark = body[at..at + 8].try_into().unwrap();
    at += 8;
    let frames = uint(body, &mut at);
    let events = uint(body, &mut at);
    let count = uint(body, &mut at);
    let mut incidents = Vec::new();
    for _ in 0..count {
        let id = body[at..at + 16].try_into().unwrap();
        at += 16;
        let durable = uint(body, &mut at);
        let nf = uint(body, &mut at);
        let frames = (0..nf)
            .map(|_| {
                (
                    uint(body, &mut at),
                    uint(body, &mut at),
                    uint(body, &mut at),
                )
            })
            .collect();
        incidents.push(Inc {
            id,
            durable,
            frames,
        });
    }
    assert_eq!(at, body.len());
    Cp {
        lens,
        mark,
        frames,
        events,
        incidents,
    }
}

fn body(cp: &Cp) -> Vec<u8> {
    let mut b = Vec::new();
    put(&mut b, cp.lens.len() as u64);
    for l in &cp.lens {
        put(&mut b, *l);
    }
    b.extend_from_slice(&cp.mark);
    put(&mut b, cp.frames);
    put(&mut b, cp.events);
    put(&mut b, cp.incidents.len() as u64);
    for inc in &cp.incidents {
        b.extend_from_slice(&inc.id);
        put(&mut b, inc.durable);
        put(&mut b, inc.frames.len() as u64);
        for (s, d, l) in &inc.frames {
            put(&mut b, *s);
            put(&mut b, *d);
            put(&mut b, *l);
        }
    }
    b
}

pub(crate) fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = b"INCIDX01".to_vec();
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    out
}

pub(crate) fn encode(cp: &Cp) -> Vec<u8> {
    seal(&body(cp))
}

/// Makes `events` the (saturating) sum of the incidents' counts, so decode accepts it.
fn fix_events(cp: &mut Cp) {
    cp.events = cp
        .incidents
        .iter()
        .fold(0u64, |a, i| a.saturating_add(i.durable));
}

// ---------------------------------------------------------------------------------------------
// a tiny deterministic RNG

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn interesting(&mut self, around: u64) -> u64 {
        match self.below(9) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - 1,
            4 => u64::from(u32::MAX),
            5 => around.wrapping_add(1),
            6 => around.wrapping_sub(1),
            7 => 1 << 40,
            _ => self.next(),
        }
    }
}

fn options() -> FileStoreOptions {
    FileStoreOptions::new()
        .segment_bytes(4096)
        .durability(Durability::Buffered)
}

fn copy_dir(from: &Path, to: &Path, with_checkpoint: bool) {
    for path in segment_files(from) {
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    if with_checkpoint && from.join(CHECKPOINT_FILE).exists() {
        std::fs::copy(from.join(CHECKPOINT_FILE), to.join(CHECKPOINT_FILE)).unwrap();
    }
}

fn ids() -> Vec<IncidentId> {
    (0..8).map(nth_id).collect()
}

/// What an open holds: per id, version and load (or the error's kind).
#[derive(Debug, PartialEq)]
enum Seen {
    Held(Version, Vec<incidents::Event>),
    Typed(String),
}

fn seen(store: &FileStore, id: IncidentId) -> Seen {
    match (store.version(id), store.load(id)) {
        (Ok(v), Ok(events)) => Seen::Held(v, events),
        (Err(e), _) | (_, Err(e)) => Seen::Typed(kind(&e)),
    }
}

fn kind(e: &Error) -> String {
    match e {
        Error::Corrupt { .. } => "Corrupt".into(),
        Error::Io { .. } => "Io".into(),
        other => format!("other: {other}"),
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Mutates the checkpoint (keeping its CRC valid). Returns a description.
fn mutate(rng: &mut Rng, cp: &mut Cp, real_frames: &[(u64, u64, u64)]) -> String {
    let n_inc = cp.incidents.len() as u64;
    match rng.below(10) {
        0 => {
            let v = rng.interesting(cp.frames);
            cp.frames = v;
            format!("frames = {v}")
        }
        1 => {
            let i = rng.below(n_inc) as usize;
            let v = rng.interesting(cp.incidents[i].durable);
            cp.incidents[i].durable = v.max(cp.incidents[i].frames.len() as u64);
            fix_events(cp);
            format!("incident {i} durable = {}", cp.incidents[i].durable)
        }
        2 => {
            let i = rng.below(n_inc) as usize;
            let inc = &mut cp.incidents[i];
            let f = rng.below(inc.frames.len() as u64) as usize;
            let field = rng.below(3);
            let old = [inc.frames[f].0, inc.frames[f].1, inc.frames[f].2][field as usize];
            let v = if rng.below(2) == 0 {
                rng.interesting(old)
            } else {
                old.wrapping_add(rng.below(64)).wrapping_sub(32)
            };
            match field {
                0 => inc.frames[f].0 = v,
                1 => inc.frames[f].1 = v,
                _ => inc.frames[f].2 = v,
            }
            format!("incident {i} frame {f} field {field}: {old} -> {v}")
        }
        3 => {
            // Another incident's frames (positions of real frames, not its own).
            let i = rng.below(n_inc) as usize;
            let j = rng.below(n_inc) as usize;
            let frames = cp.incidents[j].frames.clone();
            cp.incidents[i].frames = frames;
            let d = cp.incidents[i]
                .durable
                .max(cp.incidents[i].frames.len() as u64);
            cp.incidents[i].durable = d;
            fix_events(cp);
            format!("incident {i} given incident {j}'s frames")
        }
        4 => {
            // Drop one frame of an incident (the count stays).
            let i = rng.below(n_inc) as usize;
            let inc = &mut cp.incidents[i];
            if inc.frames.len() > 1 {
                let f = rng.below(inc.frames.len() as u64) as usize;
                // Keep later positions right: fold the step/offset into the next one is hard;
                // just drop the last.
                let _ = f;
                inc.frames.pop();
            }
            format!("incident {i} loses its last frame")
        }
        5 => {
            // Remove an incident altogether.
            let i = rng.below(n_inc) as usize;
            cp.incidents.remove(i);
            fix_events(cp);
            format!("incident {i} removed")
        }
        6 => {
            // An incident made up: a real frame of someone else, a fresh id.
            let (s, d, l) = real_frames[rng.below(real_frames.len() as u64) as usize];
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&rng.next().to_be_bytes());
            let durable = rng.interesting(3).max(1);
            cp.incidents.push(Inc {
                id,
                durable,
                frames: vec![(s, d, l)],
            });
            fix_events(cp);
            format!("made-up incident, durable {durable}, frame {s}/{d}/{l}")
        }
        7 => {
            // Duplicate the first frame (same position twice: delta 0 from its end fails,
            // so point it one frame back: the same segment, offset back to itself).
            let i = rng.below(n_inc) as usize;
            let inc = &mut cp.incidents[i];
            let f = inc.frames[0];
            inc.frames.insert(1, (0, 0, f.2));
            inc.durable = inc.durable.max(inc.frames.len() as u64);
            fix_events(cp);
            format!("incident {i}: a frame right after its first")
        }
        8 => {
            // A length of a segment (not the point).
            let s = rng.below(cp.lens.len() as u64) as usize;
            let old = cp.lens[s];
            cp.lens[s] = rng.interesting(old);
            format!("lens[{s}]: {old} -> {}", cp.lens[s])
        }
        _ => {
            // Raw bytes of the body.
            let mut b = body(cp);
            let k = 1 + rng.below(3);
            for _ in 0..k {
                let at = rng.below(b.len() as u64) as usize;
                b[at] = rng.next() as u8;
            }
            // Passed on as raw bytes (the caller seals them with a valid CRC).
            format!("RAW:{}", hex(&b))
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Hostile checkpoints with valid checksums: an open from one must never panic, and every
/// read must give what a full scan gives or a typed error. Appends after such an open must
/// still be found by a full scan.
#[test]
fn hostile_checkpoints_never_panic_block_mislead_reads_or_lose_appends() {
    let base = tempfile::tempdir().unwrap();
    let plan: Vec<Vec<(u64, u64)>> = (0..70)
        .map(|n| {
            if n % 7 == 3 {
                vec![(n % 5, 1), ((n + 2) % 5 + 3, 2)]
            } else {
                vec![(n % 6, 1 + n % 3)]
            }
        })
        .collect();
    let store = FileStore::open_with(base.path(), options()).unwrap();
    let mut versions = BTreeMap::new();
    let mut frames = apply_plan(&store, &plan[..55], &mut versions);
    store.save_snapshot(b"p").unwrap();
    frames.extend(apply_plan(&store, &plan[55..], &mut versions));
    drop(store);
    let model: Model = model_of(&frames);
    let good = std::fs::read(base.path().join(CHECKPOINT_FILE)).unwrap();
    let cp = parse(&good);
    assert_eq!(encode(&cp), good, "the test's encoder matches");
    let real: Vec<(u64, u64, u64)> = cp.incidents.iter().flat_map(|i| i.frames.clone()).collect();

    let iterations: u64 = std::env::var("REVIEW_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("REVIEW_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng(seed);
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut panics: Vec<String> = Vec::new();
    let mut misleads: Vec<String> = Vec::new();
    let mut lost: Vec<String> = Vec::new();
    let mut used = 0u32;
    let mut hiding = 0u32;
    for iter in 0..iterations {
        let mut m = cp.clone();
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(2) {
            what.push(mutate(&mut rng, &mut m, &real));
        }
        let bytes = match what.iter().rev().find(|w| w.starts_with("RAW:")) {
            Some(raw) => seal(&unhex(&raw[4..])),
            None => encode(&m),
        };
        let what: Vec<String> = what
            .into_iter()
            .map(|w| {
                if w.starts_with("RAW:") {
                    "raw bytes".into()
                } else {
                    w
                }
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(base.path(), dir.path(), false);
        std::fs::write(dir.path().join(CHECKPOINT_FILE), &bytes).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let store = FileStore::open_read_only(dir.path());
            let store = match store {
                Ok(s) => s,
                Err(e) => return (false, Err(kind(&e))),
            };
            let vouched = store.open_report().vouched_bytes > 0;
            let all: Vec<(IncidentId, Seen)> =
                ids().into_iter().map(|id| (id, seen(&store, id))).collect();
            let scan_ok = store.scan(&mut |_, _, _| Ok(())).is_ok();
            (vouched, Ok((all, scan_ok, store.open_report().events)))
        }));
        match outcome {
            Err(p) => panics.push(format!(
                "iter {iter} [{}]: open/read panicked: {}",
                what.join("; "),
                panic_text(&*p)
            )),
            Ok((_, Err(k))) => misleads.push(format!(
                "iter {iter} [{}]: open failed ({k}), a full scan opens",
                what.join("; ")
            )),
            Ok((vouched, Ok((all, _scan_ok, events)))) => {
                used += u32::from(vouched);
                for (id, s) in &all {
                    let want = model.get(id).cloned().unwrap_or_default();
                    let full = Seen::Held(Version::new(want.len() as u64), want.clone());
                    // Events hidden at the end of an incident's history (all of them, for
                    // one left out) are what a forged checkpoint can do: counted apart.
                    let hidden = matches!(s, Seen::Held(v, e)
                        if v.get() == e.len() as u64 && e.len() < want.len() && want.starts_with(e));
                    if hidden {
                        hiding += 1;
                        break;
                    }
                    if *s != full && !matches!(s, Seen::Typed(k) if k == "Corrupt") {
                        let s = match s {
                            Seen::Held(v, e) => {
                                format!("version {} and {} events loaded", v.get(), e.len())
                            }
                            Seen::Typed(k) => k.clone(),
                        };
                        let Seen::Held(fv, _) = &full else {
                            unreachable!()
                        };
                        misleads.push(format!(
                            "iter {iter} [{}]: {id}: {s}, a full scan: version {}",
                            what.join("; "),
                            fv.get()
                        ));
                        break;
                    }
                }
                let total: u64 = model.values().map(|e| e.len() as u64).sum();
                if events != total
                    && misleads
                        .last()
                        .is_none_or(|m| !m.starts_with(&format!("iter {iter} ")))
                {
                    misleads.push(format!(
                        "iter {iter} [{}]: report.events {events}, a full scan {total}",
                        what.join("; ")
                    ));
                }
            }
        }
        // Appending after an open from the hostile checkpoint: must a full scan find it?
        if vouched_store_appends_get_lost(dir.path(), &model, &mut lost, iter, &what) {
            // recorded
        }
    }
    std::panic::set_hook(prev_hook);
    println!(
        "{iterations} hostile checkpoints (seed {seed}): {used} opened from the checkpoint, {} panics, {} misleading, {} lost appends",
        panics.len(),
        misleads.len(),
        lost.len()
    );
    for line in panics.iter().take(8) {
        println!("PANIC {line}");
    }
    for line in misleads.iter().filter(|m| m.contains("loaded")) {
        println!("MISLEAD {line}");
    }
    for line in lost.iter().filter(|l| !l.contains("panicked")).take(8) {
        println!("LOST {line}");
    }
    let opened_wrong = misleads
        .iter()
        .filter(|m| m.contains("open failed"))
        .count();
    let silent = misleads.iter().filter(|m| m.contains("loaded")).count();
    println!(
        "misleading: {opened_wrong} opens refused (Corrupt) on a sound log, {silent} silent wrong reads, rest wrong counts; lost without a panic: {}",
        lost.iter().filter(|l| !l.contains("panicked")).count()
    );
    println!("{hiding} checkpoints hid the end of an incident's history (not counted above)");
    // A checkpoint can hide the last events of an incident that has none after its point
    // (all of them, if it leaves the incident out): the store cannot know of them without
    // reading the log. Every other wrong read is refused.
    let wrong_reads: Vec<&String> = misleads.iter().filter(|m| m.contains("loaded")).collect();
    assert!(panics.is_empty(), "{panics:?}");
    assert!(lost.is_empty(), "{lost:?}");
    assert_eq!(opened_wrong, 0, "a sound log must open");
    assert!(wrong_reads.is_empty(), "{wrong_reads:?}");
}

/// Opens `dir` for writing (with its hostile checkpoint), appends one event to incident 0 at
/// the version it reports, then opens a copy without the checkpoint: the acknowledged append
/// must be there.
fn vouched_store_appends_get_lost(
    dir: &Path,
    _model: &Model,
    lost: &mut Vec<String>,
    iter: u64,
    what: &[String],
) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let Ok(store) = FileStore::open_with(dir, options()) else {
            return None;
        };
        if store.open_report().vouched_bytes == 0 {
            return None;
        }
        let id = nth_id(0);
        let v = store.version(id).ok()?;
        let event = evs(0, v.get(), 1);
        let acked = store.append(id, v, &event).ok()?;
        drop(store);
        let plain = tempfile::tempdir().unwrap();
        copy_dir(dir, plain.path(), false);
        Some(match FileStore::open_read_only(plain.path()) {
            Ok(s) => {
                if s.version(id).unwrap() < acked {
                    Some(format!(
                        "append acknowledged as version {} but a full scan has {}",
                        acked.get(),
                        s.version(id).unwrap().get()
                    ))
                } else {
                    None
                }
            }
            Err(e) => Some(format!(
                "append acknowledged as version {}, a full scan then fails: {e}",
                acked.get()
            )),
        })
    }));
    match outcome {
        Err(p) => {
            lost.push(format!(
                "iter {iter} [{}]: append path panicked: {}",
                what.join("; "),
                panic_text(&*p)
            ));
            true
        }
        Ok(Some(Some(msg))) => {
            lost.push(format!("iter {iter} [{}]: {msg}", what.join("; ")));
            true
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// concurrency

/// How many appends each of the three appending threads makes.
const APPENDS_PER_THREAD: u64 = 600;

fn run_concurrent(durability: Durability, images_to_take: u32) {
    let live = tempfile::tempdir().unwrap();
    let opts = FileStoreOptions::new()
        .segment_bytes(
            std::env::var("REVIEW_SEG")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(8192),
        )
        .durability(durability);
    let store = Arc::new(FileStore::open_with(live.path(), opts.clone()).unwrap());
    let acked: Arc<Mutex<BTreeMap<IncidentId, Vec<incidents::Event>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let snaps = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..3u64 {
        let (store, acked) = (store.clone(), acked.clone());
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng(0x1234_5678 + t * 7919);
            let mut versions: BTreeMap<u64, u64> = BTreeMap::new();
            for _ in 0..APPENDS_PER_THREAD {
                let inc = t * 10 + rng.below(4);
                let v = *versions.get(&inc).unwrap_or(&0);
                let count = 1 + rng.below(3);
                let events = evs(inc, v, count);
                if rng.below(4) == 0 {
                    let other = t * 10 + 4 + rng.below(2);
                    let ov = *versions.get(&other).unwrap_or(&0);
                    let oevents = evs(other, ov, 1);
                    store
                        .append_batch(&[
                            incidents::store::Append {
                                id: nth_id(inc),
                                expected: Version::new(v),
                                events: &events,
                            },
                            incidents::store::Append {
                                id: nth_id(other),
                                expected: Version::new(ov),
                                events: &oevents,
                            },
                        ])
                        .unwrap();
                    versions.insert(other, ov + 1);
                    acked
                        .lock()
                        .unwrap()
                        .entry(nth_id(other))
                        .or_default()
                        .extend(oevents);
                } else {
                    store.append(nth_id(inc), Version::new(v), &events).unwrap();
                }
                versions.insert(inc, v + count);
                acked
                    .lock()
                    .unwrap()
                    .entry(nth_id(inc))
                    .or_default()
                    .extend(events);
            }
        }));
    }
    {
        let (store, stop, snaps) = (store.clone(), stop.clone(), snaps.clone());
        handles.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                store.save_snapshot(b"projection").unwrap();
                snaps.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Images of the directory taken while it is written (checkpoint first, then the
    // segments): an open from the checkpoint and a full scan of the same image must agree,
    // and both hold every append acknowledged before the image was taken.
    let mut images = 0;
    let mut resumed = 0;
    let mut live_opens = 0;
    let appending =
        |handles: &[std::thread::JoinHandle<()>]| handles[..3].iter().any(|h| !h.is_finished());
    while images < images_to_take && appending(&handles) {
        let before = acked.lock().unwrap().clone();
        let with = tempfile::tempdir().unwrap();
        let without = tempfile::tempdir().unwrap();
        if live.path().join(CHECKPOINT_FILE).exists() {
            let _ = std::fs::copy(
                live.path().join(CHECKPOINT_FILE),
                with.path().join(CHECKPOINT_FILE),
            );
        }
        for path in segment_files(live.path()) {
            std::fs::copy(&path, with.path().join(path.file_name().unwrap())).unwrap();
        }
        copy_dir(with.path(), without.path(), false);
        let a = FileStore::open_read_only(with.path());
        let b = FileStore::open_read_only(without.path());
        images += 1;
        match (&a, &b) {
            (Ok(a), Ok(b)) => {
                resumed += u32::from(a.open_report().vouched_bytes > 0);
                let (ra, rb) = (a.open_report(), b.open_report());
                assert_eq!(
                    (
                        ra.segments,
                        ra.frames,
                        ra.events,
                        ra.incidents,
                        ra.torn_tail.as_ref().map(|t| (t.offset, t.bytes))
                    ),
                    (
                        rb.segments,
                        rb.frames,
                        rb.events,
                        rb.incidents,
                        rb.torn_tail.as_ref().map(|t| (t.offset, t.bytes))
                    ),
                    "image {images}"
                );
                assert_eq!(scanned(a), scanned(b), "image {images}");
                for t in 0..3u64 {
                    for k in 0..6 {
                        let id = nth_id(t * 10 + k);
                        let la = a.load(id).unwrap();
                        assert_eq!(la, b.load(id).unwrap(), "image {images}: {id}");
                        assert_eq!(
                            a.version(id).unwrap(),
                            b.version(id).unwrap(),
                            "image {images}: {id}"
                        );
                        let want = before.get(&id).cloned().unwrap_or_default();
                        assert!(
                            la.len() >= want.len() && la[..want.len()] == want[..],
                            "image {images}: {id} lost an acknowledged append"
                        );
                    }
                }
            }
            (a, b) => panic!(
                "image {images}: {:?} vs {:?}",
                a.as_ref().err(),
                b.as_ref().err()
            ),
        }
        // An open of the live directory itself (read-only, as another process would).
        let before = acked.lock().unwrap().clone();
        let ro = FileStore::open_read_only(live.path()).unwrap();
        live_opens += 1;
        for (id, want) in &before {
            let got = ro.load(*id).unwrap();
            assert!(
                got.len() >= want.len() && got[..want.len()] == want[..],
                "live read-only open: {id}"
            );
            assert!(ro.version(*id).unwrap().get() as usize == got.len());
        }
        drop(ro);
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let model = acked.lock().unwrap().clone();
    drop(store);
    let plain = tempfile::tempdir().unwrap();
    copy_dir(live.path(), plain.path(), false);
    let a = FileStore::open_with(live.path(), opts).unwrap();
    let b = FileStore::open_read_only(plain.path()).unwrap();
    assert!(
        a.open_report().vouched_bytes > 0,
        "the final open used the checkpoint"
    );
    assert_eq!(scanned(&a), scanned(&b));
    assert_eq!(a.open_report().frames, b.open_report().frames);
    assert_eq!(a.open_report().events, b.open_report().events);
    for (id, events) in &model {
        assert_eq!(&a.load(*id).unwrap(), events);
        assert_eq!(&b.load(*id).unwrap(), events);
    }
    println!(
        "{durability:?}: {} snapshots, {images} images ({resumed} resumed), {live_opens} live opens, {} segments, {} events",
        snaps.load(Ordering::Relaxed),
        segment_files(live.path()).len(),
        a.open_report().events
    );
}

#[test]
fn checkpoints_saved_while_threads_append_match_a_full_scan_flush() {
    run_concurrent(Durability::Flush, 12);
}

#[test]
fn checkpoints_saved_while_threads_append_match_a_full_scan_buffered() {
    run_concurrent(Durability::Buffered, 12);
}

// ---------------------------------------------------------------------------------------------
// minimal reproductions

/// A store of 30 appends over a few segments, a checkpoint, then 5 more appends.
fn small_store() -> (tempfile::TempDir, Model) {
    let tmp = tempfile::tempdir().unwrap();
    let plan: Vec<Vec<(u64, u64)>> = (0..35).map(|n| vec![(n % 4, 1 + n % 3)]).collect();
    let store = FileStore::open_with(tmp.path(), options()).unwrap();
    let mut versions = BTreeMap::new();
    let mut frames = apply_plan(&store, &plan[..30], &mut versions);
    store.save_snapshot(b"p").unwrap();
    frames.extend(apply_plan(&store, &plan[30..], &mut versions));
    drop(store);
    (tmp, model_of(&frames))
}

fn rewrite_checkpoint(dir: &Path, change: impl FnOnce(&mut Cp)) {
    let path = dir.join(CHECKPOINT_FILE);
    let mut cp = parse(&std::fs::read(&path).unwrap());
    change(&mut cp);
    std::fs::write(&path, encode(&cp)).unwrap();
}

/// Frame total `u64::MAX` (CRC valid, sealed lengths and mark untouched): the open adds the
/// frames after the point to it.
#[test]
fn a_frame_total_past_the_log_is_refused() {
    let (tmp, model) = small_store();
    rewrite_checkpoint(tmp.path(), |cp| cp.frames = u64::MAX);
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    for (id, events) in &model {
        assert_eq!(&store.load(*id).unwrap(), events);
    }
}

/// An incident's count near `u64::MAX` (and the total to match): refused, not overflowed.
#[test]
fn an_event_count_past_the_log_is_refused() {
    let (tmp, model) = small_store();
    rewrite_checkpoint(tmp.path(), |cp| {
        cp.incidents[0].durable = u64::MAX;
        fix_events(cp);
    });
    let store = FileStore::open_with(tmp.path(), options()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    let id = nth_id(0);
    let v = store.version(id).unwrap();
    assert_eq!(v.get(), model[&id].len() as u64);
    store.append(id, v, &evs(0, v.get(), 1)).unwrap();
}

/// A checkpoint that leaves out an incident with events after its point: the scan after the
/// point finds them not continuing anything, and the open falls back to a full scan.
#[test]
fn a_checkpoint_the_log_after_it_does_not_continue_gives_way_to_a_full_scan() {
    let (tmp, model) = small_store();
    // An incident with events after the point: incident (34 % 4) = 2.
    let victim = nth_id(34 % 4);
    rewrite_checkpoint(tmp.path(), |cp| {
        cp.incidents
            .retain(|i| IncidentId::from_bytes(i.id) != victim);
        fix_events(cp);
    });
    let forged = std::fs::read(tmp.path().join(CHECKPOINT_FILE)).unwrap();
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    assert_eq!(store.load(victim).unwrap(), model[&victim]);
    drop(store);
    // A writable open removes a checkpoint that does not fit, so it is not refused again at
    // every open.
    assert!(tmp.path().join(CHECKPOINT_FILE).exists());
    let store = FileStore::open(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists());
    drop(store);
    // And `repair` removes a checkpoint whatever it says.
    std::fs::write(tmp.path().join(CHECKPOINT_FILE), forged).unwrap();
    assert!(
        FileStore::repair(tmp.path())
            .unwrap()
            .quarantined
            .is_empty()
    );
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists());
}

/// A checkpoint whose incident lists one frame fewer (count kept): the load is `Corrupt`,
/// never fewer events than its version.
#[test]
fn a_load_never_returns_other_events_than_the_index_counts() {
    let (tmp, _) = small_store();
    let mut id = None;
    rewrite_checkpoint(tmp.path(), |cp| {
        let inc = cp
            .incidents
            .iter_mut()
            .find(|i| i.frames.len() > 1)
            .unwrap();
        inc.frames.pop();
        id = Some(IncidentId::from_bytes(inc.id));
    });
    let id = id.unwrap();
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert!(store.open_report().vouched_bytes > 0);
    match store.load(id) {
        Err(Error::Corrupt { reason, .. }) => assert!(reason.contains("index"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

/// A checkpoint (valid CRC) of 8 MiB claiming as many incidents as it has bytes: refused
/// without reserving room for them.
#[test]
fn a_forged_incident_count_reserves_nothing_it_cannot_fill() {
    let (tmp, model) = small_store();
    let cp = parse(&std::fs::read(tmp.path().join(CHECKPOINT_FILE)).unwrap());
    let mut b = Vec::new();
    put(&mut b, cp.lens.len() as u64);
    for l in &cp.lens {
        put(&mut b, *l);
    }
    b.extend_from_slice(&cp.mark);
    put(&mut b, 0);
    put(&mut b, 0);
    let n = 8 << 20;
    put(&mut b, n as u64);
    b.resize(b.len() + n, 0);
    std::fs::write(tmp.path().join(CHECKPOINT_FILE), seal(&b)).unwrap();
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    assert_eq!(
        store.open_report().events,
        model.values().map(|e| e.len() as u64).sum::<u64>()
    );
}

/// One event fewer for one incident (the total to match, all else the log's): the first
/// append to it reads it back, finds more events than the index says and is refused; the log
/// is untouched and a full scan still opens it.
#[test]
fn an_append_is_refused_rather_than_write_a_version_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let plan: Vec<Vec<(u64, u64)>> = (0..30).map(|n| vec![(n % 4, 1 + n % 3)]).collect();
    let store = FileStore::open_with(tmp.path(), options()).unwrap();
    let mut versions = BTreeMap::new();
    let frames = apply_plan(&store, &plan, &mut versions);
    store.save_snapshot(b"p").unwrap();
    drop(store);
    let model = model_of(&frames);
    let cp = parse(&std::fs::read(tmp.path().join(CHECKPOINT_FILE)).unwrap());
    let pick = cp
        .incidents
        .iter()
        .position(|i| {
            let id = IncidentId::from_bytes(i.id);
            model[&id].len() as u64 == i.durable && i.durable > i.frames.len() as u64
        })
        .expect("an incident with no events after the point");
    let id = IncidentId::from_bytes(cp.incidents[pick].id);
    rewrite_checkpoint(tmp.path(), |cp| {
        cp.incidents[pick].durable -= 1;
        fix_events(cp);
    });
    let store = FileStore::open_with(tmp.path(), options()).unwrap();
    let v = store.version(id).unwrap();
    match store.append(id, v, &evs(9, v.get(), 1)) {
        Err(Error::Corrupt { .. }) => {}
        other => panic!("{other:?}"),
    }
    drop(store);
    std::fs::remove_file(tmp.path().join(CHECKPOINT_FILE)).unwrap();
    let full = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(full.load(id).unwrap(), model[&id]);
}
