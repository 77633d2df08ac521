//! Status page publishing: `Desk::publish_status` on a desk with 1,000 incidents over 90 days
//! on 20 components (QUICK: the same history, fewer runs), against writing the same bytes to
//! the same seven files by hand, measured in the same run.
//!
//! `publish_status` builds the snapshot from every incident's events (20 components × 90 day
//! bars, 14 days of history), renders the page, the five JSON files and the feed, and writes
//! each file atomically (temporary file, fsync, rename, fsync of the directory). Two baselines
//! write the bytes of that publish into the same seven paths: with `fs::write` and a rename
//! (the floor without durability), and with write, fsync, rename and a directory fsync (the
//! floor of a durable replace). The workloads run in interleaved rounds; figures are the
//! median run.
//!
//! Run with `cargo bench --bench status --features status`; `QUICK=1` makes it short.
//! Results: `target/bench-results/status.json`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Figure, Plan, Workload};
use incidents::status::{Component, PageSettings};
use incidents::{
    Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Resolution, Role, Service,
    Severity, Source,
};

/// A small, seeded, deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const COMPONENTS: usize = 20;
const INCIDENTS: usize = 1_000;
const DAYS: i64 = 90;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

/// A desk whose store holds `INCIDENTS` incidents spread over the last `DAYS` days, on
/// `COMPONENTS` services, with public titles and customer updates; all resolved but the
/// last few.
fn desk(clock: &ManualClock) -> Desk<MemoryStore, &ManualClock> {
    let desk = Desk::new(MemoryStore::new(), clock).unwrap();
    let owner = Actor::new("owner@shop.example", "Owner", Role::Owner).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = now() - Duration::days(DAYS);
    let spacing = Duration::seconds(DAYS * 86_400 / INCIDENTS as i64);
    for i in 0..INCIDENTS {
        clock.set(start + spacing * i as i32);
        let severity = Severity::ALL[rng.below(4) as usize];
        let service = format!("service {}", rng.below(COMPONENTS as u64));
        let receipt = desk
            .open(
                &owner,
                NewIncident::new("Checkout errors", severity, service.as_str(), Source::Alert)
                    .unwrap(),
            )
            .unwrap();
        let id = receipt.id;
        desk.act(
            id,
            &owner,
            Command::public_title(Some("Checkout is failing for some customers")).unwrap(),
        )
        .unwrap();
        clock.advance(Duration::minutes(5));
        desk.act(id, &owner, Command::Acknowledge).unwrap();
        desk.act(
            id,
            &owner,
            Command::customer_update("We are looking into failed payments.").unwrap(),
        )
        .unwrap();
        if i + 3 < INCIDENTS {
            clock.advance(Duration::minutes(10 + rng.below(120) as i64));
            desk.act(
                id,
                &owner,
                Command::customer_update("Payments work again. Sorry for the trouble.").unwrap(),
            )
            .unwrap();
            desk.act(id, &owner, Command::resolve(Resolution::Fixed))
                .unwrap();
        }
    }
    clock.set(now());
    desk
}

fn settings() -> PageSettings {
    let mut settings = PageSettings::new(
        "shop.example",
        "Shop",
        "https://status.shop.example/",
        "he",
        chrono_tz::Asia::Jerusalem,
    );
    for c in 0..COMPONENTS {
        settings = settings.component(Component::new(
            Service::new(format!("service {c}")).unwrap(),
            &format!("רכיב {c}"),
        ));
    }
    settings
}

/// Writes `files` (path, bytes) with a plain write and a rename.
fn plain(files: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in files {
        let temp = path.with_extension("plain-tmp");
        fs::write(&temp, bytes).unwrap();
        fs::rename(&temp, path).unwrap();
    }
}

/// Writes `files` durably: write, fsync, rename, fsync of the directory.
fn durable(files: &[(PathBuf, Vec<u8>)]) {
    use std::io::Write;
    for (path, bytes) in files {
        let temp = path.with_extension("durable-tmp");
        let mut file = fs::File::create(&temp).unwrap();
        file.write_all(bytes).unwrap();
        file.sync_all().unwrap();
        drop(file);
        fs::rename(&temp, path).unwrap();
        fs::File::open(path.parent().unwrap())
            .unwrap()
            .sync_all()
            .unwrap();
    }
}

fn main() {
    let quick = common::quick();
    let plan = if quick {
        Plan { warmup: 1, runs: 5 }
    } else {
        Plan {
            warmup: 3,
            runs: 21,
        }
    };
    let clock = ManualClock::new(now());
    let desk = desk(&clock);
    let settings = settings();
    let root = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
    let dir: &Path = root.path();
    let published = desk.publish_status(dir, &settings).unwrap();
    let files: Vec<(PathBuf, Vec<u8>)> = published
        .files
        .iter()
        .map(|f| (f.path.clone(), fs::read(&f.path).unwrap()))
        .collect();
    eprintln!(
        "status: {INCIDENTS} incidents, {COMPONENTS} components, {DAYS} days; {} files, {} bytes a publish ({}); {}",
        files.len(),
        published.total_bytes(),
        files
            .iter()
            .map(|(p, b)| format!("{} {}", p.strip_prefix(dir).unwrap().display(), b.len()))
            .collect::<Vec<_>>()
            .join(", "),
        common::file_system(dir).unwrap_or_else(|| "file system unknown".into())
    );

    let mut workloads = vec![
        Workload::new(
            "Desk::publish_status",
            || (),
            |()| {
                desk.publish_status(dir, &settings).unwrap();
                1
            },
        ),
        Workload::new(
            "fs::write + rename",
            || (),
            |()| {
                plain(&files);
                1
            },
        ),
        Workload::new(
            "write + fsync + rename + fsync dir",
            || (),
            |()| {
                durable(&files);
                1
            },
        ),
    ];
    let rates = common::measure(plan, &mut workloads);
    let medians = common::medians(&rates);
    let figures = [
        Figure::new(
            "publish_status (1,000 incidents, 20 components × 90 days), median",
            medians[0],
            "publishes/s",
            "the same bytes to the same 7 files with fs::write + rename",
            medians[1],
        ),
        Figure::new(
            "publish_status (1,000 incidents, 20 components × 90 days), median",
            medians[0],
            "publishes/s",
            "the same bytes to the same 7 files with write + fsync + rename + directory fsync",
            medians[2],
        ),
    ];
    common::report("status", &figures);
}
