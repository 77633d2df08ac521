//! The commands: each reads its arguments, does its work, prints text or JSON on stdout and
//! returns the exit code (or a [`Failure`]).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use incidents::report::Window;
use incidents::store::file::{OpenReport, VerifyReport};
use incidents::store::{FileStore, export_jsonl, import_jsonl};
use incidents::{Desk, Event, Filter, Incident, IncidentId, Policy, Service, Store, SystemClock};
use serde::Serialize;

use crate::failure::{DAMAGED, Failure, OK};
use crate::location::{Access, Opened};
use crate::progress::{CountingReader, CountingWriter, Progress};
use crate::{BackupArgs, Context, ExportArgs, ImportArgs, ListArgs, ReadWrite, RepairArgs};
use crate::{ReportArgs, ShowArgs};

/// The desk every reading command looks through.
type ReadDesk = Desk<Box<dyn Store>, SystemClock>;

/// `list`: a table of incidents, or a JSON array of them.
pub fn list(cx: &Context, args: &ListArgs) -> Result<u8, Failure> {
    let mut filter = if args.all {
        Filter::all()
    } else if args.status.is_empty() {
        Filter::active()
    } else {
        args.status
            .iter()
            .fold(Filter::all(), |filter, status| filter.status(*status))
    };
    if let Some(severity) = args.severity {
        filter = filter.min_severity(severity);
    }
    if let Some(name) = &args.service {
        let service = Service::new(name).map_err(|e| Failure::Input(e.to_string()))?;
        filter = filter.service(service);
    }
    let desk = open_desk(cx, &args.access)?;
    let found = desk.list(&filter);
    if cx.json {
        return print_json(&found);
    }
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|incident| {
            [
                incident.id().to_string(),
                incident.severity().to_string(),
                incident.status().to_string(),
                clip(incident.title().as_ref(), 60),
                local_time(incident.created_at(), args.tz, "%Y-%m-%d %H:%M"),
            ]
        })
        .collect();
    let opened = format!("OPENED ({})", args.tz);
    let header = ["ID", "SEVERITY", "STATUS", "TITLE", opened.as_str()];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    push_row(&mut text, &header, &widths);
    for row in &rows {
        let cells = row.each_ref().map(String::as_str);
        push_row(&mut text, &cells, &widths);
    }
    if rows.is_empty() {
        text.push_str("(no incidents match)\n");
    }
    print_text(&text)
}

/// `show ID`: the incident and its timeline.
pub fn show(cx: &Context, args: &ShowArgs) -> Result<u8, Failure> {
    let id: IncidentId = args
        .id
        .parse()
        .map_err(|e: incidents::Invalid| Failure::Input(e.to_string()))?;
    let desk = match open_desk(cx, &args.access) {
        Ok(desk) => desk,
        // A history the lifecycle does not allow (a tampered store, or one written by
        // something else) cannot become an incident, but its events can still be read.
        Err(Failure::Store(incidents::Error::History(broken))) => {
            return show_unreplayable(cx, args, id, &broken);
        }
        Err(failure) => return Err(failure),
    };
    let incident = desk.get(id)?;
    let timeline = desk.history(id)?;
    if cx.json {
        #[derive(Serialize)]
        struct Shown<'a> {
            incident: &'a Incident,
            timeline: &'a [Event],
        }
        return print_json(&Shown {
            incident: &incident,
            timeline: &timeline,
        });
    }
    print_text(&describe(&incident, &timeline, args.tz))
}

/// `show` when the store holds a history that cannot be replayed: the stored events of `id`
/// as they are, with the replay error, and exit code 3.
fn show_unreplayable(
    cx: &Context,
    args: &ShowArgs,
    id: IncidentId,
    broken: &incidents::error::HistoryError,
) -> Result<u8, Failure> {
    let store = cx.location.open(access(&args.access))?.into_store();
    let timeline = store.load(id)?;
    if timeline.is_empty() {
        return Err(incidents::Error::NotFound { id }.into());
    }
    if cx.json {
        print_json(&serde_json::json!({
            "incident": null,
            "replay_error": broken.to_string(),
            "timeline": timeline,
        }))?;
    } else {
        let mut text = format!(
            "Incident {id}: its history cannot be replayed ({broken}); the stored events as \
             they are:\n\nTimeline ({})\n",
            args.tz
        );
        push_timeline(&mut text, &timeline, args.tz);
        print_text(&text)?;
    }
    Ok(DAMAGED)
}

/// `report`: the desk's report over a month or a range of days.
pub fn report(cx: &Context, args: &ReportArgs) -> Result<u8, Failure> {
    let bad = |e: incidents::Invalid| Failure::Input(e.to_string());
    let window = match (args.month, args.from, args.to) {
        (Some((year, month)), _, _) => Window::month(year, month, args.tz).map_err(bad)?,
        (None, Some(from), Some(to)) => {
            if to < from {
                return Err(Failure::Input(format!("--to {to} is before --from {from}")));
            }
            let first = Window::day(from, args.tz).map_err(bad)?;
            let last = Window::day(to, args.tz).map_err(bad)?;
            Window::new(first.from(), last.until()).map_err(bad)?
        }
        _ => {
            return Err(Failure::Usage(
                "give --month YYYY-MM, or --from and --to".into(),
            ));
        }
    };
    let desk = open_desk(cx, &args.access)?;
    let report = desk.report(window)?;
    if cx.json {
        return print_json(&report);
    }
    print_text(&format!("{report}\n"))
}

/// `verify`: checks the directory; exit code 3 when it found problems.
pub fn verify(cx: &Context) -> Result<u8, Failure> {
    let dir = cx.location.dir("verify")?;
    let progress = Progress::spinner(Progress::wanted(cx.quiet), "verifying");
    let report = FileStore::verify(dir)?;
    progress.finish();
    if cx.json {
        print_json(&report)?;
    } else {
        print_text(&describe_verify(&report))?;
    }
    Ok(if report.is_ok() { OK } else { DAMAGED })
}

/// `repair`: shows what verification found, asks (unless `--yes`), repairs.
pub fn repair(cx: &Context, args: &RepairArgs) -> Result<u8, Failure> {
    let dir = cx.location.dir("repair")?;
    let found = FileStore::verify(dir)?;
    if found.is_ok() && found.torn_tail.is_none() {
        if cx.json {
            return print_json(&serde_json::json!({
                "verify": found,
                "repaired": false,
                "quarantined": [],
            }));
        }
        return print_text(&format!(
            "{}\nNothing to repair.\n",
            describe_verify(&found)
        ));
    }
    // What will be done goes to stderr, so that stdout keeps only the result.
    if !cx.quiet || !args.yes {
        eprint!("{}", describe_verify(&found));
        eprintln!(
            "Repair moves the first damaged frame and everything after it (and an unfinished \
             final write) into {}; no byte is deleted.",
            dir.join(incidents::store::file::QUARANTINE_DIR).display()
        );
    }
    if !args.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Failure::Usage(
                "refusing to repair without confirmation: there is no terminal to ask on; \
                 pass --yes"
                    .into(),
            ));
        }
        eprint!("Repair? [y/N] ");
        let mut answer = String::new();
        stdin
            .lock()
            .read_line(&mut answer)
            .map_err(|source| Failure::Io {
                what: "read the answer from stdin",
                path: None,
                source,
            })?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Failure::Declined);
        }
    }
    let repaired = FileStore::repair(dir)?;
    if cx.json {
        return print_json(&serde_json::json!({
            "verify": found,
            "repaired": true,
            "quarantined": repaired.quarantined,
        }));
    }
    let mut text = String::new();
    for moved in &repaired.quarantined {
        text.push_str(&format!(
            "moved {} bytes of {} from byte offset {} to {} ({})\n",
            moved.bytes,
            moved.path.display(),
            moved.offset,
            moved.saved_to.display(),
            moved.reason
        ));
    }
    text.push_str(&format!(
        "Repaired: {} range(s) moved aside. Check with `incidents --store {} verify`.\n",
        repaired.quarantined.len(),
        dir.display()
    ));
    print_text(&text)
}

/// `backup DEST`: a consistent copy with a manifest, with a progress bar.
pub fn backup(cx: &Context, args: &BackupArgs) -> Result<u8, Failure> {
    let dir = cx.location.dir("backup")?;
    let Opened::File(store) = cx.location.open(access(&args.access))? else {
        return Err(Failure::Usage(format!(
            "`backup` works on a store directory only, not {}",
            dir.display()
        )));
    };
    warn_about(cx, store.open_report());
    let progress = Progress::bytes(Progress::wanted(cx.quiet), "backing up", Some(0));
    let done = store.backup_with_progress(&args.dest, &mut |copied, total| {
        progress.set(copied, total);
    })?;
    progress.finish();
    if cx.json {
        return print_json(&done);
    }
    print_text(&format!(
        "Backed up {} segment(s), {} bytes, into {}. Check it with `incidents --store {} verify`.\n",
        done.segments,
        done.bytes,
        done.dir.display(),
        done.dir.display()
    ))
}

/// `export`: every event as JSON Lines, to a file or stdout.
pub fn export(cx: &Context, args: &ExportArgs) -> Result<u8, Failure> {
    let opened = cx.location.open(access(&args.access))?;
    if let Opened::File(store) = &opened {
        warn_about(cx, store.open_report());
    }
    let store = opened.into_store();
    let show = Progress::wanted(cx.quiet);
    let progress = Progress::bytes(show, "exporting", None);
    let report = if let Some(path) = &args.output {
        {
            let file = File::create(path).map_err(|source| Failure::Io {
                what: "create",
                path: Some(path.clone()),
                source,
            })?;
            let mut out = CountingWriter {
                inner: BufWriter::new(file),
                progress: &progress,
            };
            let report = export_jsonl(&*store, &mut out)?;
            out.inner
                .into_inner()
                .map_err(|e| Failure::Io {
                    what: "write",
                    path: Some(path.clone()),
                    source: e.into_error(),
                })?
                .sync_all()
                .map_err(|source| Failure::Io {
                    what: "flush",
                    path: Some(path.clone()),
                    source,
                })?;
            report
        }
    } else {
        let mut out = CountingWriter {
            inner: BufWriter::new(std::io::stdout().lock()),
            progress: &progress,
        };
        export_jsonl(&*store, &mut out)?
    };
    progress.finish();
    let summary = format!(
        "Exported {} event(s) of {} incident(s){}.",
        report.events,
        report.incidents,
        args.output
            .as_ref()
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    match (&args.output, cx.json) {
        // stdout holds the data: the summary goes to stderr, and only in words.
        (None, _) => {
            if !cx.quiet {
                eprintln!("{summary}");
            }
            Ok(OK)
        }
        (Some(path), true) => print_json(&serde_json::json!({
            "events": report.events,
            "incidents": report.incidents,
            "output": path,
        })),
        (Some(_), false) => print_text(&format!("{summary}\n")),
    }
}

/// `import`: JSON Lines from a file or stdin into a writable store.
pub fn import(cx: &Context, args: &ImportArgs) -> Result<u8, Failure> {
    let opened = cx.location.open(Access::Write)?;
    if let Opened::File(store) = &opened {
        warn_about(cx, store.open_report());
    }
    let store = opened.into_store();
    let show = Progress::wanted(cx.quiet);
    let report = if let Some(path) = &args.file {
        {
            let file = File::open(path).map_err(|source| Failure::Io {
                what: "open",
                path: Some(path.clone()),
                source,
            })?;
            let total = file.metadata().ok().map(|m| m.len());
            let progress = Progress::bytes(show, "importing", total);
            let mut input = CountingReader {
                inner: BufReader::new(file),
                progress: &progress,
            };
            import_jsonl(&*store, &mut input)?
        }
    } else {
        let progress = Progress::bytes(show, "importing", None);
        let mut input = CountingReader {
            inner: std::io::stdin().lock(),
            progress: &progress,
        };
        import_jsonl(&*store, &mut input)?
    };
    if cx.json {
        return print_json(&serde_json::json!({
            "events": report.events,
            "incidents": report.incidents,
        }));
    }
    print_text(&format!(
        "Imported {} event(s) of {} incident(s).\n",
        report.events, report.incidents
    ))
}

/// The access a reading command asked for.
fn access(flag: &ReadWrite) -> Access {
    if flag.read_write {
        Access::ReadWrite
    } else {
        Access::Read
    }
}

/// Opens the store (read-only unless `--read-write`) and replays it into a desk.
fn open_desk(cx: &Context, flag: &ReadWrite) -> Result<ReadDesk, Failure> {
    let policy = match &cx.policy {
        Some(path) => Some(read_policy(path)?),
        None => None,
    };
    let progress = Progress::spinner(Progress::wanted(cx.quiet), "opening the store");
    let opened = cx.location.open(access(flag))?;
    if let Opened::File(store) = &opened {
        warn_about(cx, store.open_report());
    }
    let mut builder = Desk::builder(opened.into_store(), SystemClock);
    if let Some(policy) = policy {
        builder = builder.policy(policy);
    }
    let desk = builder.build()?;
    progress.finish();
    Ok(desk)
}

/// Reads a policy file.
fn read_policy(path: &Path) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(path).map_err(|source| Failure::Io {
        what: "read policy file",
        path: Some(path.to_path_buf()),
        source,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Input(format!("policy file {}: {e}", path.display())))
}

/// Says on stderr what opening a store directory left out or could not do (unless `--quiet`).
fn warn_about(cx: &Context, report: &OpenReport) {
    if cx.quiet {
        return;
    }
    if let Some(tail) = &report.torn_tail {
        eprintln!(
            "incidents: warning: an unfinished final write ({} bytes at byte offset {} of {}, \
             never acknowledged) was left out{}",
            tail.bytes,
            tail.offset,
            tail.path.display(),
            tail.saved_to
                .as_ref()
                .map(|p| format!(" and saved to {}", p.display()))
                .unwrap_or_default()
        );
    }
    if let Some(tail) = &report.damaged_tail {
        eprintln!(
            "incidents: warning: the last append ({} bytes at byte offset {} of {}) failed its \
             checksum ({}) and was left out{}; it may have been acknowledged",
            tail.bytes,
            tail.offset,
            tail.path.display(),
            tail.reason,
            tail.saved_to
                .as_ref()
                .map(|p| format!(" and saved to {}", p.display()))
                .unwrap_or_default()
        );
    }
    if let Some(because) = &report.read_only_because {
        eprintln!(
            "incidents: warning: the store was opened read-only ({because}); writes will fail"
        );
    }
    if let Some(deferred) = &report.deferred {
        eprintln!(
            "incidents: warning: could not {} ({}); it is done on the first write",
            deferred.what, deferred.error
        );
    }
}

/// The incident and its timeline, for people.
fn describe(incident: &Incident, timeline: &[Event], tz: Tz) -> String {
    let mut text = format!("Incident {}\n  {}\n", incident.id(), incident.title());
    text.push_str(&format!(
        "  severity {} · status {} · service {} · source {}\n",
        incident.severity(),
        incident.status(),
        incident.service(),
        incident.source()
    ));
    text.push_str(&format!(
        "  opened {} by {}\n",
        local_time(incident.created_at(), tz, "%Y-%m-%d %H:%M"),
        incident.opened_by()
    ));
    if let Some(owner) = incident.owner() {
        text.push_str(&format!("  owner: {owner}\n"));
    }
    if let Some(cause) = incident.root_cause() {
        text.push_str(&format!("  root cause: {cause}\n"));
    }
    if let Some(resolution) = incident.resolution() {
        text.push_str(&format!("  resolution: {resolution:?}\n"));
    }
    if let Some(breach) = incident.breach() {
        push_breach(&mut text, breach, tz);
    }
    text.push_str(&format!("\nTimeline ({tz})\n"));
    push_timeline(&mut text, timeline, tz);
    text
}

/// The regulatory notices of a declared breach, one line each, deadlines in `tz`. The tool
/// does not know the shop's policy, so business days count Monday to Friday in `tz`.
fn push_breach(text: &mut String, breach: &incidents::regulatory::Breach, tz: Tz) {
    text.push_str(&format!(
        "  data breach: aware since {}\n",
        local_time(breach.became_aware(), tz, "%Y-%m-%d %H:%M")
    ));
    let calendar = incidents::Calendar::always_open_in(tz);
    for clock in breach.clocks(&calendar) {
        let due = clock.due.map_or_else(
            || "never".to_string(),
            |d| local_time(d, tz, "%Y-%m-%d %H:%M"),
        );
        let state = match clock.filed {
            Some(f) if clock.filed_late() => format!(
                "filed late {} (ref {})",
                local_time(f.at, tz, "%Y-%m-%d %H:%M"),
                f.reference
            ),
            Some(f) => format!(
                "filed {} (ref {})",
                local_time(f.at, tz, "%Y-%m-%d %H:%M"),
                f.reference
            ),
            None if clock.overdue => "OVERDUE".to_string(),
            None => "open".to_string(),
        };
        text.push_str(&format!(
            "  notice {}/{} to {}: due {due} · {state}\n",
            clock.regime.id, clock.phase.id, clock.phase.recipient
        ));
    }
}

/// One line per event: the time in `tz`, who, what.
fn push_timeline(text: &mut String, timeline: &[Event], tz: Tz) {
    for event in timeline {
        text.push_str(&format!(
            "  {}  {:<28} {}\n",
            local_time(event.at, tz, "%Y-%m-%d %H:%M:%S"),
            event.actor.to_string(),
            event.change.describe().replace('\n', " ")
        ));
    }
}

/// A verification report, for people.
fn describe_verify(report: &VerifyReport) -> String {
    let mut text = format!(
        "{}: {} segment(s), {} append(s), {} event(s), {} incident(s), {} bytes\n",
        report.dir.display(),
        report.segments,
        report.frames,
        report.events,
        report.incidents,
        report.bytes
    );
    if let Some(manifest) = &report.manifest {
        text.push_str(&format!(
            "backup manifest: {} segment(s) listed, checked\n",
            manifest.segments.len()
        ));
    }
    if let Some(tail) = &report.torn_tail {
        text.push_str(&format!(
            "note: an unfinished final write ({} bytes at byte offset {} of {}), never \
             acknowledged; opening the store cuts it\n",
            tail.bytes,
            tail.offset,
            tail.path.display()
        ));
    }
    for problem in &report.problems {
        text.push_str(&format!("problem: {problem}\n"));
    }
    if report.is_ok() {
        text.push_str("OK: no problems found\n");
    } else {
        text.push_str(&format!(
            "DAMAGED: {} problem(s) found; `incidents repair` moves the damage aside\n",
            report.problems.len()
        ));
    }
    text
}

/// One table row, columns padded to `widths`.
fn push_row(text: &mut String, cells: &[&str], widths: &[usize]) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    text.push_str(line.trim_end());
    text.push('\n');
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// `at` in `tz`, formatted.
fn local_time(at: DateTime<Utc>, tz: Tz, format: &str) -> String {
    at.with_timezone(&tz).format(format).to_string()
}

/// Writes `value` as one line of JSON on stdout.
fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    Ok(OK)
}

/// Writes `text` on stdout.
fn print_text(text: &str) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    Ok(OK)
}

/// A failed write to stdout.
fn stdout_error(source: std::io::Error) -> Failure {
    Failure::Io {
        what: "write to stdout",
        path: None,
        source,
    }
}
