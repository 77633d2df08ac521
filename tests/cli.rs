//! The `incidents` binary, run for real (assert_cmd) against copies of stores: the schema-v1
//! fixture store (copied, never touched in place) and a small shop's store this file writes
//! with the library. The fixture holds every event shape in one incident, which is not a
//! history the lifecycle allows, so the commands that replay histories (`list`, `show`,
//! `report`) run on the shop's store, and the fixture serves `export`, `import`, `backup`,
//! `verify` and `repair`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{DateTime, TimeZone, Utc};
use incidents::lifecycle::NewIncident;
use incidents::{
    Actor, Command as Act, Desk, FileStore, IncidentId, ManualClock, Resolution, Role, Severity,
    Source,
};
use serde_json::Value;

fn fixture_store() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1/store")
}

fn fixture_jsonl() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1/export.jsonl")
}

const SEGMENT: &str = "seg-00000001.log";

/// The binary with `--store DIR` (and nothing from the environment).
fn incidents(store: impl AsRef<str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_incidents"));
    cmd.env_remove("INCIDENTS_STORE")
        .arg("--store")
        .arg(store.as_ref());
    cmd
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A copy of the fixture store in a new temporary directory.
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(fixture_store().join(SEGMENT), dir.join(SEGMENT)).unwrap();
    (tmp, dir)
}

/// The ids of the shop's three incidents.
struct Shop {
    /// Critical, POS, acknowledged and resolved.
    terminal: IncidentId,
    /// Low, online shop, open.
    slow: IncidentId,
    /// High, till 2, acknowledged.
    printer: IncidentId,
}

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .single()
        .unwrap()
}

/// Writes a small shop's store into `dir` through the library (one append per command, so
/// the segment holds several frames), and closes it.
fn shop_store(dir: &Path) -> Shop {
    let clock = ManualClock::new(at(10, 7, 0));
    let desk = Desk::new(FileStore::open(dir).unwrap(), &clock).unwrap();
    let owner = Actor::new("shimon", "Shimon", Role::Owner).unwrap();
    let open = |title: &str, severity, service: &str| {
        let new = NewIncident::new(title, severity, service, Source::StaffReport).unwrap();
        desk.open(&owner, new).unwrap().id
    };
    let terminal = open(
        "Card terminal declines every payment",
        Severity::Critical,
        "POS",
    );
    clock.set(at(10, 7, 5));
    desk.act(terminal, &owner, Act::Acknowledge).unwrap();
    clock.set(at(10, 7, 40));
    desk.act(terminal, &owner, Act::resolve(Resolution::Fixed))
        .unwrap();
    clock.set(at(12, 9, 0));
    let slow = open("Online shop slow", Severity::Low, "online shop");
    clock.set(at(14, 16, 30));
    let printer = open("Receipt printer out of paper", Severity::High, "till 2");
    clock.set(at(14, 16, 45));
    desk.act(printer, &owner, Act::Acknowledge).unwrap();
    Shop {
        terminal,
        slow,
        printer,
    }
}

/// A new temporary directory with the shop's store in `store/`.
fn shop_copy() -> (tempfile::TempDir, PathBuf, Shop) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let shop = shop_store(&dir);
    (tmp, dir, shop)
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(output).trim_end()
        )
    })
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_string())
        .collect()
}

/// Every file under `dir` with its bytes, to show that a command changed nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// Flips one byte in the middle of the segment in `dir`.
fn damage(dir: &Path) {
    let path = dir.join(SEGMENT);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Reading: list, show, report

#[test]
fn list_shows_the_active_incidents_by_default_as_a_table() {
    let (_tmp, dir, _shop) = shop_copy();
    let out = incidents(path_str(&dir)).arg("list").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two active incidents:\n{text}");
    assert!(lines[0].starts_with("ID"), "{text}");
    assert!(lines[0].contains("OPENED (UTC)"), "{text}");
    assert!(
        lines[1].contains("Online shop slow") && lines[1].contains("low"),
        "{text}"
    );
    assert!(lines[1].contains("2026-11-12 09:00"), "{text}");
    assert!(
        lines[2].contains("Receipt printer out of paper") && lines[2].contains("acknowledged"),
        "{text}"
    );
    assert!(
        !text.contains("Card terminal"),
        "resolved is not active:\n{text}"
    );
}

#[test]
fn list_filters_and_json() {
    let (_tmp, dir, shop) = shop_copy();
    let list = |args: &[&str]| {
        let out = incidents(path_str(&dir))
            .args(["--json", "list"])
            .args(args)
            .assert()
            .success();
        json(&out.get_output().stdout)
    };
    let all = list(&["--all"]);
    assert_eq!(
        ids(&all),
        [
            shop.terminal.to_string(),
            shop.slow.to_string(),
            shop.printer.to_string()
        ],
        "oldest first"
    );
    assert_eq!(all[0]["title"], "Card terminal declines every payment");
    assert_eq!(all[0]["severity"], "critical");
    assert_eq!(all[0]["service"], "POS");
    assert_eq!(
        ids(&list(&[])),
        [shop.slow.to_string(), shop.printer.to_string()]
    );
    assert_eq!(
        ids(&list(&["--severity", "high"])),
        [shop.printer.to_string()]
    );
    assert_eq!(
        ids(&list(&["--all", "--severity", "high"])),
        [shop.terminal.to_string(), shop.printer.to_string()]
    );
    assert_eq!(
        ids(&list(&["--status", "resolved"])),
        [shop.terminal.to_string()]
    );
    assert_eq!(
        ids(&list(&["--status", "open", "--status", "resolved"])),
        [shop.terminal.to_string(), shop.slow.to_string()]
    );
    assert_eq!(
        ids(&list(&["--all", "--service", "online shop"])),
        [shop.slow.to_string()]
    );
    assert_eq!(ids(&list(&["--service", "POS"])), Vec::<String>::new());
}

#[test]
fn show_prints_the_incident_and_its_timeline() {
    let (_tmp, dir, shop) = shop_copy();
    let id = shop.terminal.to_string();
    let out = incidents(path_str(&dir))
        .args(["show", &id, "--tz", "Asia/Jerusalem"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with(&format!("Incident {id}\n")), "{text}");
    assert!(
        text.contains("Card terminal declines every payment"),
        "{text}"
    );
    assert!(
        text.contains("severity critical · status resolved · service POS"),
        "{text}"
    );
    assert!(text.contains("Timeline (Asia/Jerusalem)"), "{text}");
    // 07:05 UTC is 09:05 in Jerusalem in November.
    assert!(
        text.contains("2026-11-10 09:05:00  Shimon (owner)"),
        "{text}"
    );

    let out = incidents(path_str(&dir))
        .args(["--json", "show", &id])
        .assert()
        .success();
    let shown = json(&out.get_output().stdout);
    assert_eq!(shown["incident"]["id"], id.as_str());
    let timeline = shown["timeline"].as_array().unwrap();
    assert!(
        timeline.len() >= 3,
        "open, acknowledge, resolve: {timeline:?}"
    );
    assert_eq!(timeline[0]["change"]["type"], "opened");
    assert_eq!(timeline[0]["at"], "2026-11-10T07:00:00Z");
    assert_eq!(timeline[1]["change"]["type"], "acknowledged");
}

#[test]
fn show_lists_a_breach_s_notices_with_their_deadlines_in_the_zone() {
    use incidents::regulatory::{Deadline, Phase, Recipient, Regime};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let id = {
        let clock = ManualClock::new(at(26, 17, 0));
        let desk = Desk::new(FileStore::open(&dir).unwrap(), &clock).unwrap();
        let owner = Actor::new("shimon", "Shimon", Role::Owner).unwrap();
        let new = NewIncident::new(
            "Customer list exposed",
            Severity::High,
            "online shop",
            Source::StaffReport,
        )
        .unwrap();
        let id = desk.open(&owner, new).unwrap().id;
        let regime = Regime::new("gdpr", "GDPR", "Art. 33", "EU")
            .with_phase(Phase::new(
                "authority",
                Recipient::Authority,
                Deadline::CalendarHours(72),
            ))
            .with_phase(Phase::new(
                "acquirer",
                Recipient::Acquirer,
                Deadline::CalendarHours(24),
            ));
        desk.act(
            id,
            &owner,
            Act::declare_breach(vec![regime], at(26, 16, 0)).unwrap(),
        )
        .unwrap();
        clock.set(at(27, 8, 0));
        desk.act(
            id,
            &owner,
            Act::file_notice("gdpr", "acquirer", "ACQ-1", "called", None).unwrap(),
        )
        .unwrap();
        id
    };
    let out = incidents(path_str(&dir))
        .args(["show", &id.to_string(), "--tz", "Asia/Jerusalem"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("  data breach: aware since 2026-11-26 18:00\n"),
        "{text}"
    );
    assert!(
        text.contains("  notice gdpr/authority to the authority: due 2026-11-29 18:00 · open\n"),
        "{text}"
    );
    assert!(
        text.contains("  notice gdpr/acquirer to the acquirer: due 2026-11-27 18:00 · filed 2026-11-27 10:00 (ref ACQ-1)\n"),
        "{text}"
    );
}

#[test]
fn show_an_unknown_or_malformed_id_fails_with_exit_code_1() {
    let (_tmp, dir, _shop) = shop_copy();
    let unknown = "019d2a6e-0000-7000-8000-0000000000ff";
    let out = incidents(path_str(&dir))
        .args(["--json", "show", unknown])
        .assert()
        .code(1);
    let error = json(&out.get_output().stdout);
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["exit_code"], 1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(
        stderr,
        format!("incidents: error: incident {unknown} not found\n")
    );
    incidents(path_str(&dir))
        .args(["show", "not-an-id"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a UUID"));
}

#[test]
fn report_over_a_month_and_over_days() {
    let (_tmp, dir, _shop) = shop_copy();
    let report = |args: &[&str]| {
        let out = incidents(path_str(&dir))
            .args(["--json", "report"])
            .args(args)
            .assert()
            .success();
        json(&out.get_output().stdout)
    };
    let november = report(&["--month", "2026-11", "--tz", "Asia/Jerusalem"]);
    assert_eq!(november["opened"]["total"], 3);
    assert_eq!(november["opened"]["still_open"], 2);
    assert_eq!(
        november["window"]["from"], "2026-10-31T22:00:00Z",
        "November starts at midnight in Jerusalem"
    );
    let days = report(&["--from", "2026-11-12", "--to", "2026-11-14"]);
    assert_eq!(
        days["opened"]["total"], 2,
        "the 12th to the 14th, both included"
    );
    assert_eq!(report(&["--month", "2026-10"])["opened"]["total"], 0);

    let out = incidents(path_str(&dir))
        .args(["report", "--month", "2026-11"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains('3'), "{text}");

    incidents(path_str(&dir))
        .args(["report", "--month", "2026-13"])
        .assert()
        .code(2);
    incidents(path_str(&dir)).arg("report").assert().code(2);
}

#[test]
fn a_policy_file_is_read_and_a_bad_one_refused() {
    let (tmp, dir, _shop) = shop_copy();
    let good = tmp.path().join("policy.json");
    std::fs::write(
        &good,
        serde_json::to_vec(&incidents::Policy::small_business()).unwrap(),
    )
    .unwrap();
    let out = incidents(path_str(&dir))
        .args(["--json", "--policy", path_str(&good)])
        .args(["report", "--month", "2026-11"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["opened"]["total"], 3);
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\"targets\": 7}").unwrap();
    let out = incidents(path_str(&dir))
        .args(["--json", "--policy", path_str(&bad), "list"])
        .assert()
        .code(1);
    assert_eq!(json(&out.get_output().stdout)["kind"], "input");
}

#[test]
fn reading_commands_write_nothing() {
    let (_tmp, dir, shop) = shop_copy();
    let before = snapshot(&dir);
    let id = shop.slow.to_string();
    for args in [
        vec!["list", "--all"],
        vec!["show", &id],
        vec!["report", "--month", "2026-11"],
        vec!["verify"],
        vec!["export"],
    ] {
        incidents(path_str(&dir)).args(&args).assert().success();
    }
    assert_eq!(snapshot(&dir), before, "not even a lock file");
    let missing = dir.with_file_name("missing");
    incidents(path_str(&missing))
        .arg("list")
        .assert()
        .code(1)
        .stderr(predicates::str::starts_with("incidents: error: "));
    assert!(!missing.exists(), "a reading command created a store");
}

#[test]
fn the_fixture_history_is_refused_by_the_commands_that_replay_it() {
    // The fixture is every event shape in one incident; a desk refuses to replay it.
    let (_tmp, dir) = fixture_copy();
    let out = incidents(path_str(&dir))
        .args(["--json", "list"])
        .assert()
        .code(3);
    let error = json(&out.get_output().stdout);
    assert_eq!(error["kind"], "history");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("019d2a6e-0000-7000-8000-00000000f1c5"),
        "{error}"
    );
}

#[test]
fn show_reads_a_history_that_cannot_be_replayed_as_stored_with_exit_code_3() {
    let (_tmp, dir) = fixture_copy();
    let id = "019d2a6e-0000-7000-8000-00000000f1c5";
    let out = incidents(path_str(&dir))
        .args(["--json", "show", id])
        .assert()
        .code(3);
    let shown = json(&out.get_output().stdout);
    assert_eq!(shown["incident"], Value::Null);
    assert!(
        shown["replay_error"]
            .as_str()
            .unwrap()
            .contains("impossible history"),
        "{shown}"
    );
    let timeline = shown["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 69);
    assert_eq!(timeline[0]["actor"]["name"], "נועה");
    assert_eq!(
        timeline[0]["change"]["title"],
        "Card terminal declines every payment"
    );
    let out = incidents(path_str(&dir))
        .args(["show", id, "--tz", "Asia/Jerusalem"])
        .assert()
        .code(3);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("its history cannot be replayed"), "{text}");
    // 12:00 UTC on 27 November is 14:00 in Jerusalem.
    assert!(
        text.contains("2026-11-27 14:00:00  נועה (support)"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Export and import

#[test]
fn export_of_the_fixture_is_its_jsonl_fixture() {
    let (tmp, dir) = fixture_copy();
    let expected = std::fs::read(fixture_jsonl()).unwrap();
    let out = incidents(path_str(&dir)).arg("export").assert().success();
    assert_eq!(out.get_output().stdout, expected);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stderr),
        "Exported 69 event(s) of 1 incident(s).\n"
    );

    let file = tmp.path().join("out.jsonl");
    let out = incidents(path_str(&dir))
        .args(["--json", "export", "--output", path_str(&file)])
        .assert()
        .success();
    let summary = json(&out.get_output().stdout);
    assert_eq!(summary["events"], 69);
    assert_eq!(summary["incidents"], 1);
    assert_eq!(std::fs::read(&file).unwrap(), expected);
}

#[test]
fn import_into_an_empty_store_then_export_is_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let expected = std::fs::read(fixture_jsonl()).unwrap();
    // From stdin.
    let piped = tmp.path().join("piped");
    let out = incidents(path_str(&piped))
        .args(["--json", "import"])
        .write_stdin(expected.clone())
        .assert()
        .success();
    let summary = json(&out.get_output().stdout);
    assert_eq!(
        (summary["events"].as_u64(), summary["incidents"].as_u64()),
        (Some(69), Some(1))
    );
    let out = incidents(path_str(&piped)).arg("export").assert().success();
    assert_eq!(out.get_output().stdout, expected);
    // From a file.
    let named = tmp.path().join("named");
    incidents(path_str(&named))
        .args(["import", path_str(&fixture_jsonl())])
        .assert()
        .success()
        .stdout("Imported 69 event(s) of 1 incident(s).\n");
    let out = incidents(path_str(&named)).arg("export").assert().success();
    assert_eq!(out.get_output().stdout, expected);
    // The shop's store round-trips too, and replays the same.
    let (_shop_tmp, shop_dir, _shop) = shop_copy();
    let exported = incidents(path_str(&shop_dir))
        .arg("export")
        .assert()
        .success();
    let copy = tmp.path().join("shop");
    incidents(path_str(&copy))
        .arg("import")
        .write_stdin(exported.get_output().stdout.clone())
        .assert()
        .success();
    let list = |dir: &Path| {
        incidents(path_str(dir))
            .args(["--json", "list", "--all"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    assert_eq!(json(&list(&copy)), json(&list(&shop_dir)));
}

#[test]
fn import_of_a_bad_line_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    incidents(path_str(&tmp.path().join("s")))
        .arg("import")
        .write_stdin("{\"incident\": 1}\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("line 1"));
}

// ---------------------------------------------------------------------------------------------
// Backup, verify, repair

#[test]
fn backup_then_verify_the_backup() {
    let (tmp, dir) = fixture_copy();
    let dest = tmp.path().join("backup");
    let out = incidents(path_str(&dir))
        .args(["--json", "backup", path_str(&dest)])
        .assert()
        .success();
    assert!(
        out.get_output().stderr.is_empty(),
        "no progress without a terminal"
    );
    let done = json(&out.get_output().stdout);
    assert_eq!(done["segments"], 1);
    assert_eq!(done["bytes"], 16_803);

    let out = incidents(path_str(&dest))
        .args(["--json", "verify"])
        .assert()
        .success();
    let verified = json(&out.get_output().stdout);
    assert_eq!(verified["problems"], Value::Array(Vec::new()));
    assert_eq!(verified["events"], 69);
    assert!(verified["manifest"].is_object(), "{verified}");
    incidents(path_str(&dest))
        .arg("verify")
        .assert()
        .success()
        .stdout(predicates::str::contains("OK: no problems found"))
        .stdout(predicates::str::contains("backup manifest: 1 segment(s)"));
    // The backup holds the same events.
    let out = incidents(path_str(&dest)).arg("export").assert().success();
    assert_eq!(
        out.get_output().stdout,
        std::fs::read(fixture_jsonl()).unwrap()
    );
    // A second backup into the same, now full, directory is refused.
    incidents(path_str(&dir))
        .args(["backup", path_str(&dest)])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("must be empty"));
}

#[test]
fn verify_finds_a_flipped_byte_and_names_it() {
    let (_tmp, dir, _shop) = shop_copy();
    damage(&dir);
    let out = incidents(path_str(&dir))
        .args(["--json", "verify"])
        .assert()
        .code(3);
    let report = json(&out.get_output().stdout);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0]["path"].as_str().unwrap().ends_with(SEGMENT),
        "{report}"
    );
    assert!(problems[0]["offset"].as_u64().unwrap() > 0, "{report}");
    incidents(path_str(&dir))
        .arg("verify")
        .assert()
        .code(3)
        .stdout(predicates::str::contains(format!(
            "problem: {}",
            dir.join(SEGMENT).display()
        )))
        .stdout(predicates::str::contains("DAMAGED: 1 problem(s) found"));
    // Damage before the end is corrupt: the reading commands say so with exit code 3.
    let out = incidents(path_str(&dir))
        .args(["--json", "list"])
        .assert()
        .code(3);
    assert_eq!(json(&out.get_output().stdout)["kind"], "corrupt");
}

#[test]
fn repair_with_yes_then_verify_is_ok() {
    let (_tmp, dir, shop) = shop_copy();
    damage(&dir);
    let out = incidents(path_str(&dir))
        .args(["--json", "repair", "--yes"])
        .assert()
        .success();
    let repaired = json(&out.get_output().stdout);
    assert_eq!(repaired["repaired"], true);
    let moved = repaired["quarantined"].as_array().unwrap();
    assert!(!moved.is_empty(), "{repaired}");
    let saved = PathBuf::from(moved[0]["saved_to"].as_str().unwrap());
    assert!(saved.starts_with(dir.join("quarantine")), "{repaired}");
    assert!(saved.exists());

    incidents(path_str(&dir))
        .arg("verify")
        .assert()
        .success()
        .stdout(predicates::str::contains("OK: no problems found"));
    // What came before the damage is still there: the first incident at least.
    let out = incidents(path_str(&dir))
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    let left = ids(&json(&out.get_output().stdout));
    assert_eq!(left.first(), Some(&shop.terminal.to_string()));
    // A healthy store has nothing to repair.
    incidents(path_str(&dir))
        .args(["repair", "--yes"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Nothing to repair."));
}

#[test]
fn repair_without_yes_and_without_a_terminal_refuses_and_changes_nothing() {
    let (_tmp, dir) = fixture_copy();
    damage(&dir);
    let before = snapshot(&dir);
    let out = incidents(path_str(&dir))
        .args(["--json", "repair"])
        .write_stdin("y\n")
        .assert()
        .code(2);
    assert_eq!(json(&out.get_output().stdout)["kind"], "usage");
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("problem: "),
        "shows what it found:\n{stderr}"
    );
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert_eq!(snapshot(&dir), before);
}

// ---------------------------------------------------------------------------------------------
// Locks, usage, other stores

#[test]
fn a_locked_store_refuses_import_with_exit_code_4_and_still_lists() {
    let (_tmp, dir, shop) = shop_copy();
    let held = FileStore::open(&dir).unwrap();
    let out = incidents(path_str(&dir))
        .args(["--json", "import"])
        .write_stdin(std::fs::read(fixture_jsonl()).unwrap())
        .assert()
        .code(4);
    let error = json(&out.get_output().stdout);
    assert_eq!(error["kind"], "locked");
    assert_eq!(error["exit_code"], 4);
    let out = incidents(path_str(&dir))
        .args(["--json", "list"])
        .assert()
        .success();
    assert_eq!(
        ids(&json(&out.get_output().stdout)),
        [shop.slow.to_string(), shop.printer.to_string()]
    );
    // `--read-write` takes the lock, so it is refused as well.
    incidents(path_str(&dir))
        .args(["list", "--read-write"])
        .assert()
        .code(4);
    drop(held);
}

#[test]
fn usage_mistakes_exit_with_code_2() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_incidents"));
    cmd.env_remove("INCIDENTS_STORE")
        .arg("list")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("INCIDENTS_STORE"));
    let tmp = tempfile::tempdir().unwrap();
    incidents(path_str(tmp.path()))
        .arg("frobnicate")
        .assert()
        .code(2);
    incidents("postgres://nobody@localhost/none")
        .arg("verify")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("store directory only"));
    // The store can come from the environment too.
    let (_tmp, dir, _shop) = shop_copy();
    Command::new(env!("CARGO_BIN_EXE_incidents"))
        .env("INCIDENTS_STORE", path_str(&dir))
        .args(["list", "--all"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Card terminal declines every payment",
        ));
    // --help lists the exit codes.
    Command::new(env!("CARGO_BIN_EXE_incidents"))
        .arg("--help")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "4  the store is locked by another process",
        ));
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", path_str(&tmp.path().join("shop.db")));
    incidents(&db)
        .args(["list", "--all"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("open SQLite database"));
    let (_shop_tmp, dir, shop) = shop_copy();
    let exported = incidents(path_str(&dir)).arg("export").assert().success();
    incidents(&db)
        .arg("import")
        .write_stdin(exported.get_output().stdout.clone())
        .assert()
        .success()
        .stdout(predicates::str::contains("event(s) of 3 incident(s)"));
    let out = incidents(&db)
        .args(["--json", "list", "--all"])
        .assert()
        .success();
    assert_eq!(
        ids(&json(&out.get_output().stdout)),
        [
            shop.terminal.to_string(),
            shop.slow.to_string(),
            shop.printer.to_string()
        ]
    );
    let again = incidents(&db).arg("export").assert().success();
    let lines = |bytes: &[u8]| {
        let mut lines: Vec<String> = String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        lines(&again.get_output().stdout),
        lines(&exported.get_output().stdout)
    );
    incidents(&db)
        .arg("backup")
        .arg(tmp.path().join("b"))
        .assert()
        .code(2);
}

/// `--tenant` picks one shop of a database: an import into shop a shows in shop a's list
/// and export only; shop b and the default tenant stay empty; a bad name or a tenant on a
/// store directory is a usage error (exit code 2).
#[cfg(feature = "sqlite")]
#[test]
fn tenant_scopes_every_command_to_one_shop() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", path_str(&tmp.path().join("shops.db")));
    let (_shop_tmp, dir, shop) = shop_copy();
    let exported = incidents(path_str(&dir)).arg("export").assert().success();
    incidents(&db)
        .args(["--tenant", "shop-a", "import"])
        .write_stdin(exported.get_output().stdout.clone())
        .assert()
        .success();
    let list = |tenant: Option<&str>| {
        let mut command = incidents(&db);
        if let Some(tenant) = tenant {
            command.args(["--tenant", tenant]);
        }
        let out = command.args(["--json", "list", "--all"]).assert().success();
        ids(&json(&out.get_output().stdout))
    };
    assert_eq!(list(Some("shop-a")).len(), 3);
    assert!(list(Some("shop-a")).contains(&shop.printer.to_string()));
    assert!(
        list(Some("shop-b")).is_empty(),
        "shop b sees nothing of shop a"
    );
    assert!(list(None).is_empty(), "nor does the default tenant");
    let again = incidents(&db)
        .env("INCIDENTS_TENANT", "shop-a")
        .arg("export")
        .assert()
        .success();
    assert_eq!(
        again.get_output().stdout.len(),
        exported.get_output().stdout.len()
    );
    let empty = incidents(&db)
        .args(["--tenant", "shop-b", "export"])
        .assert()
        .success();
    assert!(empty.get_output().stdout.is_empty());
    incidents(&db)
        .args(["--tenant", "shop a", "list"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("tenant"));
    incidents(path_str(&dir))
        .args(["--tenant", "shop-a", "list"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("holds one shop"));
}

#[cfg(not(feature = "sqlite"))]
#[test]
fn sqlite_without_the_feature_is_a_clear_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", path_str(&tmp.path().join("shop.db")));
    incidents(&db)
        .arg("import")
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--features cli,sqlite"));
}

/// `INCIDENTS_PG_URL` (libpq key-value parameters, as `scripts/pg-test-cluster.sh` prints them)
/// with a fresh database created on that server, as a `postgresql://` URL for `--store`.
#[cfg(feature = "postgres")]
fn fresh_postgres_url() -> Option<String> {
    let Some(params) = std::env::var("INCIDENTS_PG_URL")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!("PostgreSQL CLI test skipped: no INCIDENTS_PG_URL");
        return None;
    };
    let value = |key: &str| {
        params
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    let name = format!(
        "incidents_cli_{}_{}",
        std::process::id(),
        Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .unsigned_abs()
    );
    let mut admin = postgres::Client::connect(&params, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let host = value("host").unwrap_or_else(|| "localhost".into());
    let port = value("port").unwrap_or_else(|| "5432".into());
    let user = value("user").unwrap_or_else(|| "postgres".into());
    Some(format!(
        "postgresql://{user}@{host}:{port}/{name}?connect_timeout=5"
    ))
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_round_trip() {
    let Some(url) = fresh_postgres_url() else {
        return;
    };
    let (_tmp, dir, shop) = shop_copy();
    let exported = incidents(path_str(&dir)).arg("export").assert().success();
    incidents(&url)
        .arg("import")
        .write_stdin(exported.get_output().stdout.clone())
        .assert()
        .success()
        .stdout(predicates::str::contains("event(s) of 3 incident(s)"));
    let out = incidents(&url).args(["--json", "list"]).assert().success();
    assert_eq!(
        ids(&json(&out.get_output().stdout)),
        [shop.slow.to_string(), shop.printer.to_string()]
    );
    let out = incidents(&url)
        .args(["--json", "report", "--month", "2026-11"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)["opened"]["total"], 3);
}

#[test]
fn export_into_a_pipe_closed_early_ends_quietly_with_exit_code_0() {
    use std::io::Read;
    use std::process::Stdio;

    // Far more than a pipe holds (64 KiB on Linux), so the tool is still writing when its
    // reader goes away.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    {
        let options = incidents::store::FileStoreOptions::new()
            .durability(incidents::store::Durability::Buffered);
        let clock = ManualClock::new(at(10, 7, 0));
        let desk = Desk::new(FileStore::open_with(&dir, options).unwrap(), &clock).unwrap();
        let owner = Actor::new("shimon", "Shimon", Role::Owner).unwrap();
        for n in 0..400 {
            let title = format!("Till {n} prints blank receipts after the paper roll change");
            let new = NewIncident::new(title, Severity::Low, "tills", Source::StaffReport).unwrap();
            desk.open(&owner, new).unwrap();
        }
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_incidents"))
        .env_remove("INCIDENTS_STORE")
        .args(["--store", path_str(&dir), "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The reader is gone (its end of the pipe closed when it was dropped above).
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(
        first.starts_with(b"{"),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
}
