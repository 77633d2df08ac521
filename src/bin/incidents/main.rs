//! `incidents`: look at, check, repair, back up, export and import an incident store from a
//! shell, without writing Rust.
//!
//! Built with the `cli` feature:
//!
//! ```text
//! cargo run --features cli --bin incidents -- --store ./incident-data list
//! cargo install --path . --features cli
//! ```
//!
//! The store is a directory (a `FileStore`), `sqlite:PATH` (with the `sqlite` feature) or a
//! `postgres://` URL (with the `postgres` feature), given with `--store` or `INCIDENTS_STORE`;
//! in a database of many shops, `--tenant NAME` (or `INCIDENTS_TENANT`) picks one.
//! Every command that only reads opens a directory read-only: no lock, nothing written, so it
//! works on a store another process is running, on a backup and on read-only media. Exit
//! codes are listed in [`failure`] and in `--help`.

#![forbid(unsafe_code)]
#![warn(clippy::pedantic)]
#![allow(
    // As in the library: `write!` into a `String` returns a `Result` that is never an error;
    // `push_str(&format!(..))` says the same without an ignored result, and nothing here is hot.
    clippy::format_push_string,
)]

mod commands;
mod failure;
mod location;
mod progress;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use incidents::Severity;
use incidents::lifecycle::Status;

use failure::Failure;
use location::Location;

/// Operate an incident store: list and show incidents, report on a month, verify, repair,
/// back up, export and import.
#[derive(Debug, Parser)]
#[command(name = "incidents", version, after_help = failure::EXIT_CODES_HELP)]
struct Cli {
    /// The store: a directory, `sqlite:PATH`, or a `postgres://` URL.
    #[arg(
        long,
        global = true,
        env = "INCIDENTS_STORE",
        value_name = "LOCATION",
        hide_env_values = true
    )]
    store: Option<String>,

    /// One shop's rows in a database that holds many (`incidents::store::Tenant`: 1 to 63
    /// ASCII letters, digits, `-`, `_` or `.`). Without it, the default tenant: a database of
    /// one shop. A store directory holds one shop and takes no tenant.
    #[arg(
        long,
        global = true,
        env = "INCIDENTS_TENANT",
        value_name = "NAME",
        value_parser = parse_tenant
    )]
    tenant: Option<incidents::store::Tenant>,

    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// No progress display and no warnings on stderr (errors are still shown).
    #[arg(long, short, global = true)]
    quiet: bool,

    /// A policy file (JSON, `incidents::Policy`); the default small-business policy otherwise.
    #[arg(long, global = true, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// List incidents: the active ones by default.
    List(ListArgs),
    /// Show one incident and its timeline.
    Show(ShowArgs),
    /// The report over a month or a range of days.
    Report(ReportArgs),
    /// Check a store directory or a backup (every frame's checksum, a backup's manifest);
    /// changes nothing. Exit code 3 when problems are found.
    Verify,
    /// Move damaged data aside into the store's `quarantine/` so that it opens again; deletes
    /// nothing. Shows what it will do and asks first.
    Repair(RepairArgs),
    /// Copy the store into DEST (a new or empty directory), with a manifest written last.
    Backup(BackupArgs),
    /// Write every event as JSON Lines (stdout by default).
    Export(ExportArgs),
    /// Append events from JSON Lines (stdin by default) to the store; needs a writable store.
    Import(ImportArgs),
}

/// `--read-write`, for commands that only read.
#[derive(Debug, Args)]
struct ReadWrite {
    /// Open the store as its writer would (take its lock, cut a torn tail) instead of
    /// read-only.
    #[arg(long)]
    read_write: bool,
}

/// `list`.
#[derive(Debug, Args)]
struct ListArgs {
    /// Only incidents in this status (repeat for several): open, acknowledged, investigating,
    /// identified, monitoring, resolved, closed.
    #[arg(long, value_parser = parse_status, conflicts_with = "all")]
    status: Vec<Status>,
    /// Only incidents at least this severe: critical, high, medium, low (or sev1, p2, …).
    #[arg(long, value_parser = parse_severity)]
    severity: Option<Severity>,
    /// Only incidents of this service.
    #[arg(long, value_name = "NAME")]
    service: Option<String>,
    /// Every incident, resolved and closed ones too.
    #[arg(long)]
    all: bool,
    /// The time zone the opening times are shown in.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    tz: chrono_tz::Tz,
    /// Read-only, or `--read-write`.
    #[command(flatten)]
    access: ReadWrite,
}

/// `show`.
#[derive(Debug, Args)]
struct ShowArgs {
    /// The incident's id.
    id: String,
    /// The time zone the timeline is shown in.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    tz: chrono_tz::Tz,
    /// Read-only, or `--read-write`.
    #[command(flatten)]
    access: ReadWrite,
}

/// `report`.
#[derive(Debug, Args)]
struct ReportArgs {
    /// The month, as YYYY-MM.
    #[arg(long, value_parser = parse_month, conflicts_with_all = ["from", "to"],
          required_unless_present_all = ["from", "to"])]
    month: Option<(i32, u32)>,
    /// The first day (YYYY-MM-DD), with --to.
    #[arg(long, requires = "to")]
    from: Option<NaiveDate>,
    /// The last day, included (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    to: Option<NaiveDate>,
    /// The time zone the month or days are in.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    tz: chrono_tz::Tz,
    /// Read-only, or `--read-write`.
    #[command(flatten)]
    access: ReadWrite,
}

/// `repair`.
#[derive(Debug, Args)]
struct RepairArgs {
    /// Repair without asking (for scripts). Without it, and without a terminal to ask on,
    /// `repair` refuses (exit code 2).
    #[arg(long, short)]
    yes: bool,
}

/// `backup`.
#[derive(Debug, Args)]
struct BackupArgs {
    /// The backup directory: must not exist, or be empty.
    dest: PathBuf,
    /// Read-only, or `--read-write`.
    #[command(flatten)]
    access: ReadWrite,
}

/// `export`.
#[derive(Debug, Args)]
struct ExportArgs {
    /// Write to this file (created or truncated) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Read-only, or `--read-write`.
    #[command(flatten)]
    access: ReadWrite,
}

/// `import`.
#[derive(Debug, Args)]
struct ImportArgs {
    /// Read from this file instead of stdin.
    file: Option<PathBuf>,
}

/// Reads a status by its name (`open`, `acknowledged`, …).
fn parse_status(text: &str) -> Result<Status, String> {
    let wanted = text.trim().to_ascii_lowercase();
    Status::ALL
        .into_iter()
        .find(|s| s.to_string() == wanted)
        .ok_or_else(|| {
            let names: Vec<String> = Status::ALL.iter().map(ToString::to_string).collect();
            format!("expected one of {}", names.join(", "))
        })
}

/// Reads a severity as the library spells it (`critical`, `sev1`, `p2`, …).
fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse::<Severity>().map_err(|e| e.to_string())
}

/// Reads `--tenant`: a checked tenant name.
fn parse_tenant(text: &str) -> Result<incidents::store::Tenant, String> {
    text.parse().map_err(|e: incidents::Error| e.to_string())
}

/// Reads an IANA time zone name.
fn parse_tz(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone {text:?} (use a name like Asia/Jerusalem)"))
}

/// Reads `YYYY-MM` as a year and a month (1 to 12).
fn parse_month(text: &str) -> Result<(i32, u32), String> {
    let bad = || format!("expected a month as YYYY-MM, got {text:?}");
    let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u32 = month.parse().map_err(|_| bad())?;
    if (1..=12).contains(&month) {
        Ok((year, month))
    } else {
        Err(bad())
    }
}

/// What every command gets: the global options.
pub struct Context {
    /// Where the store is.
    pub location: Location,
    /// `--json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--policy`.
    pub policy: Option<PathBuf>,
}

/// Parses the arguments, runs the command, reports a failure and exits with its code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    // Whether stdout carries data of its own (JSON Lines) that an error object would spoil.
    let stdout_is_data = matches!(&cli.command, Command::Export(args) if args.output.is_none());
    let json = cli.json;
    let result = run(cli);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) if failure.is_broken_pipe() => ExitCode::from(failure::OK),
        Err(failure) => {
            let message = failure.message();
            let code = failure.exit_code();
            eprintln!("incidents: error: {message}");
            if json && !stdout_is_data {
                let object = serde_json::json!({
                    "error": message,
                    "kind": failure.kind(),
                    "exit_code": code,
                });
                let mut out = std::io::stdout().lock();
                // Nothing more can be reported if stdout is gone.
                let _ = writeln!(out, "{object}");
            }
            ExitCode::from(code)
        }
    }
}

/// Runs the command; `Ok` carries the exit code (0, or 3 for `verify` finding problems).
fn run(cli: Cli) -> Result<u8, Failure> {
    let store = cli.store.ok_or_else(|| {
        Failure::Usage("no store given: pass --store LOCATION or set INCIDENTS_STORE".into())
    })?;
    let cx = Context {
        location: Location::parse(&store).scoped(cli.tenant)?,
        json: cli.json,
        quiet: cli.quiet,
        policy: cli.policy,
    };
    match cli.command {
        Command::List(args) => commands::list(&cx, &args),
        Command::Show(args) => commands::show(&cx, &args),
        Command::Report(args) => commands::report(&cx, &args),
        Command::Verify => commands::verify(&cx),
        Command::Repair(args) => commands::repair(&cx, &args),
        Command::Backup(args) => commands::backup(&cx, &args),
        Command::Export(args) => commands::export(&cx, &args),
        Command::Import(args) => commands::import(&cx, &args),
    }
}
