//! A small, dependency-free benchmark harness shared by the benches (`mod common;`).
//!
//! Convention: a bench measures some [`Figure`]s, each next to a baseline, and hands them to
//! [`report`], which prints one line per figure,
//!
//! ```text
//! figure value unit | baseline value unit | ratio
//! ```
//!
//! on stdout and writes the same figures as a JSON array of
//! `{name, value, unit, baseline, baseline_value, ratio}` to
//! `<target dir>/bench-results/<bench>.json`. Everything else a bench prints (what it ran, how
//! many repetitions) goes to stderr, so stdout holds figure lines only.
//!
//! Timing is by [`measure`]: a few [`Workload`]s (a figure's and its baseline's) run in
//! interleaved rounds, warm-up rounds first, each run timed with [`Instant`] around the work
//! only (set-up and tear-down are outside the clock). Figures should name the statistic they
//! report (this crate's benches use the median).
//!
//! With `QUICK=1` in the environment ([`quick`]) benches run fewer, smaller repetitions and
//! must finish within a minute.

// Each bench uses only part of the harness.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

/// One measured figure next to its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// What was measured, including the statistic (e.g. "…, median").
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The unit of both `value` and `baseline_value`.
    pub unit: String,
    /// What the figure is compared with.
    pub baseline: String,
    /// The baseline's value, in `unit`.
    pub baseline_value: f64,
    /// `value / baseline_value`.
    pub ratio: f64,
}

impl Figure {
    /// A figure; the ratio is `value / baseline_value`.
    pub fn new(
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        baseline: impl Into<String>,
        baseline_value: f64,
    ) -> Figure {
        Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            baseline: baseline.into(),
            baseline_value,
            ratio: value / baseline_value,
        }
    }

    /// The figure's line: `figure value unit | baseline value unit | ratio`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} | {} {} {} | {}",
            self.name,
            number(self.value),
            self.unit,
            self.baseline,
            number(self.baseline_value),
            self.unit,
            ratio(self.ratio),
        )
    }
}

/// Whether `QUICK` is set (to anything but empty or `0`): run a short version of the bench.
pub fn quick() -> bool {
    std::env::var_os("QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// How many rounds to run: `warmup` unmeasured rounds, then `runs` measured ones.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rounds made first and thrown away (caches, allocator, CPU frequency).
    pub warmup: usize,
    /// Rounds measured.
    pub runs: usize,
}

/// One thing to measure: fresh state built by a set-up closure (not timed), then work on it
/// (timed) that returns how many operations it did. The state is dropped after the clock
/// stops.
pub struct Workload<'a> {
    label: String,
    once: Box<dyn FnMut() -> (u64, Duration) + 'a>,
}

impl<'a> Workload<'a> {
    /// A workload called `label` (used in the stderr summary).
    pub fn new<S>(
        label: impl Into<String>,
        mut setup: impl FnMut() -> S + 'a,
        mut run: impl FnMut(&mut S) -> u64 + 'a,
    ) -> Workload<'a> {
        Workload {
            label: label.into(),
            once: Box::new(move || {
                let mut state = setup();
                let start = Instant::now();
                let ops = std::hint::black_box(run(&mut state));
                let elapsed = start.elapsed();
                drop(state);
                (ops, elapsed)
            }),
        }
    }
}

/// The throughputs of a workload's measured runs, in operations per second, sorted ascending.
#[derive(Debug, Clone)]
pub struct Rates(Vec<f64>);

impl Rates {
    /// The median run (the mean of the middle two for an even count).
    pub fn median(&self) -> f64 {
        let n = self.0.len();
        if n % 2 == 1 {
            self.0[n / 2]
        } else {
            (self.0[n / 2 - 1] + self.0[n / 2]) / 2.0
        }
    }

    /// The fastest run.
    pub fn best(&self) -> f64 {
        self.0[self.0.len() - 1]
    }

    /// The slowest run.
    pub fn worst(&self) -> f64 {
        self.0[0]
    }

    /// Every measured run, slowest first.
    pub fn all(&self) -> &[f64] {
        &self.0
    }
}

/// Measures the workloads' throughput, interleaved: every round runs each workload once, in
/// order, so a figure and its baseline see the same machine load, allocator state and CPU
/// frequency. Makes `plan.warmup` rounds first and ignores them. Returns one [`Rates`] per
/// workload, in order, and prints a summary line per workload to stderr.
///
/// # Panics
/// If `plan.runs` is 0 or a run reports 0 operations.
pub fn measure(plan: Plan, workloads: &mut [Workload<'_>]) -> Vec<Rates> {
    assert!(plan.runs > 0, "a measurement needs at least one run");
    for _ in 0..plan.warmup {
        for workload in workloads.iter_mut() {
            (workload.once)();
        }
    }
    let mut rates = vec![Vec::with_capacity(plan.runs); workloads.len()];
    for _ in 0..plan.runs {
        for (workload, rates) in workloads.iter_mut().zip(&mut rates) {
            let (ops, elapsed) = (workload.once)();
            assert!(ops > 0, "{}: a run did no work", workload.label);
            rates.push(ops as f64 / elapsed.as_secs_f64());
        }
    }
    workloads
        .iter()
        .zip(rates)
        .map(|(workload, mut rates)| {
            rates.sort_by(f64::total_cmp);
            let rates = Rates(rates);
            eprintln!(
                "  {}: median {} /s, best {} /s, worst {} /s ({} runs after {} warm-up)",
                workload.label,
                number(rates.median()),
                number(rates.best()),
                number(rates.worst()),
                plan.runs,
                plan.warmup,
            );
            rates
        })
        .collect()
}

/// Prints each figure's line to stdout and writes all of them as a JSON array to
/// `<target dir>/bench-results/<bench>.json`, where the target dir is `CARGO_TARGET_DIR` or
/// else `target` in the crate's directory (a relative `CARGO_TARGET_DIR` is taken relative to
/// the crate's directory).
///
/// # Panics
/// If the file cannot be written: a bench whose results are lost should fail loudly.
pub fn report(bench: &str, figures: &[Figure]) {
    for figure in figures {
        println!("{}", figure.line());
    }
    let path = results_dir().join(format!("{bench}.json"));
    let dir = path.parent().expect("the results file has a directory");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let json = serde_json::to_string_pretty(figures).expect("figures serialise to JSON");
    std::fs::write(&path, json + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    eprintln!("results written to {}", path.display());
}

/// `<target dir>/bench-results`.
fn results_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| manifest.join("target"), |dir| manifest.join(dir));
    target.join("bench-results")
}

/// A ratio for a figure line: two decimals (three significant digits below 0.1).
fn ratio(x: f64) -> String {
    if x.is_finite() && x.abs() < 0.1 {
        number(x)
    } else {
        format!("{x:.2}")
    }
}

/// A number for a figure line: whole numbers from 100 up, three significant digits below.
fn number(x: f64) -> String {
    if !x.is_finite() || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x == 0.0 {
        "0".to_owned()
    } else {
        let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    }
}

/// Where `path` is mounted: the file system type and its source, from `/proc/self/mountinfo`.
pub fn file_system(path: &std::path::Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount = std::path::Path::new(*fields.get(4)?);
            let dash = fields.iter().position(|f| *f == "-")?;
            let kind = fields.get(dash + 1)?;
            let source = fields.get(dash + 2)?;
            path.starts_with(mount)
                .then(|| (mount.as_os_str().len(), format!("{kind} on {source}")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, what)| what)
}

/// The median of `xs` (the mean of the middle two for an even count).
///
/// # Panics
/// If `xs` is empty.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    Rates(xs).median()
}

/// The median of each of `rates`, in order.
pub fn medians(rates: &[Rates]) -> Vec<f64> {
    rates.iter().map(Rates::median).collect()
}

/// Runs `work(thread)` on `threads` scoped threads (on the calling thread if there is only
/// one) and sums what they return.
pub fn on_threads(threads: usize, work: impl Fn(usize) -> u64 + Sync) -> u64 {
    if threads == 1 {
        return work(0);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let work = &work;
                scope.spawn(move || work(thread))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench thread panicked"))
            .sum()
    })
}

/// Bytes in a mebibyte, for memory summaries.
pub const MIB: f64 = 1024.0 * 1024.0;

/// The process's resident set and its peak, in bytes, from `/proc/self/status` (`None` where
/// that file does not exist or lacks the fields).
pub fn rss() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// A clock that always shows the same time, for desks whose measured work never reads it.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub chrono::DateTime<chrono::Utc>);

impl incidents::Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// Counts flushes of `FileStore` segment files (`fdatasync`), never failing one. Directory
/// flushes (made only when a segment is created) are not counted.
#[cfg(feature = "file")]
#[derive(Debug, Default)]
pub struct SyncCounter(std::sync::atomic::AtomicU64);

#[cfg(feature = "file")]
impl incidents::store::file::FaultHook for SyncCounter {
    fn on_sync(&self, path: &std::path::Path) -> Option<std::io::Error> {
        if path.extension().is_some_and(|e| e == "log") {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        None
    }
}

#[cfg(feature = "file")]
impl SyncCounter {
    /// Segment flushes so far.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether two paths are on the same device (`None` where that cannot be told).
pub fn same_device(a: &std::path::Path, b: &std::path::Path) -> Option<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(std::fs::metadata(a).ok()?.dev() == std::fs::metadata(b).ok()?.dev())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        None
    }
}
