//! The transition table, checked exhaustively: against a hand-written copy of the documented
//! table, against README's diagram, and by walking the real `decide`/`apply` from Open.

use std::collections::{BTreeSet, VecDeque};

use incidents::error::Refusal;
use incidents::lifecycle::{Edge, decide, transition};
use incidents::lifecycle::{mermaid, table};
use incidents::{CommandKind, Incident, Status};

use crate::support::{owner, sample, scenario_id, t0};

/// The documented table, written out by hand. Columns follow `CommandKind::ALL`:
/// open, acknowledge, assign owner, start investigating, identify, mitigate, resolve, reopen,
/// close, change severity, add note, post customer update, wait for vendor, vendor responded,
/// add responder, remove responder, add task, assign task, complete task, record review,
/// complete follow-up, record feedback, attach, merge, set impact, set public title, declare
/// breach, set became aware, file notice, and the desk's own records: absorb (the other side
/// of a merge), remind (follow-ups), signal (alerts, reports), fire (timers), notify, deliver,
/// warn notice (regulatory clocks, which run while resolved too).
///
/// `X` move to status X · `=` records, status stays · `.` ignored (records nothing) ·
/// `-` rejected.
const DOCUMENTED: &[(&str, [&str; 36])] = &[
    (
        "none",
        [
            "Open", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
            "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
            "-", "-",
        ],
    ),
    (
        "Open",
        [
            "-",
            "Acknowledged",
            "=",
            "Investigating",
            "Identified",
            "Monitoring",
            "Resolved",
            "-",
            "-",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "-",
            "=",
            "=",
            "=",
            "Resolved",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
        ],
    ),
    (
        "Acknowledged",
        [
            "-",
            ".",
            "=",
            "Investigating",
            "Identified",
            "Monitoring",
            "Resolved",
            "-",
            "-",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "-",
            "=",
            "=",
            "=",
            "Resolved",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
        ],
    ),
    (
        "Investigating",
        [
            "-",
            ".",
            "=",
            ".",
            "Identified",
            "Monitoring",
            "Resolved",
            "-",
            "-",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "-",
            "=",
            "=",
            "=",
            "Resolved",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
        ],
    ),
    (
        "Identified",
        [
            "-",
            ".",
            "=",
            "Investigating",
            "=",
            "Monitoring",
            "Resolved",
            "-",
            "-",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "-",
            "=",
            "=",
            "=",
            "Resolved",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
        ],
    ),
    (
        "Monitoring",
        [
            "-",
            ".",
            "=",
            "Investigating",
            "Identified",
            "=",
            "Resolved",
            "-",
            "-",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "-",
            "=",
            "=",
            "=",
            "Resolved",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
            "=",
        ],
    ),
    (
        "Resolved",
        [
            "-", "-", "=", "-", "=", "-", "-", "Open", "Closed", "=", "=", "=", "-", "-", "=", "=",
            "=", "=", "=", "=", "=", "=", "=", "-", "=", "=", "=", "=", "=", "=", "=", "=", "-",
            "=", "=", "=",
        ],
    ),
    (
        "Closed",
        [
            "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
            "-", "-", "-", "=", "=", "-", "-", "-", "-", "-", "-", "-", "-", "=", "-", "-", "=",
            "=", "-",
        ],
    ),
];

fn status_named(name: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|s| s.name() == name)
}

fn code(edge: Edge) -> String {
    match edge {
        Edge::Move(to) => to.name().to_string(),
        Edge::Stay => "=".into(),
        Edge::Ignore => ".".into(),
        Edge::Reject(_) => "-".into(),
    }
}

#[test]
fn every_pair_matches_the_documented_table() {
    let mut checked = 0;
    for (row, cells) in DOCUMENTED {
        let from = if *row == "none" {
            None
        } else {
            Some(status_named(row).expect("status name"))
        };
        for (kind, want) in CommandKind::ALL.into_iter().zip(cells) {
            assert_eq!(
                code(transition(from, kind)),
                *want,
                "transition({from:?}, {kind:?})"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, (Status::ALL.len() + 1) * CommandKind::ALL.len());
    assert_eq!(table().count(), checked);
}

#[test]
fn every_rejection_has_a_reason() {
    for t in table() {
        if let Edge::Reject(refusal) = t.edge {
            let reason = refusal.as_str();
            assert!(!reason.is_empty());
            assert!(reason.chars().next().unwrap().is_lowercase(), "{reason}");
            assert!(!reason.ends_with('.'), "{reason}");
        }
    }
}

#[test]
fn closed_accepts_nothing_but_records_about_what_came_after() {
    for kind in CommandKind::ALL {
        let edge = transition(Some(Status::Closed), kind);
        if matches!(
            kind,
            CommandKind::Deliver
                | CommandKind::CompleteFollowUp
                | CommandKind::RecordFeedback
                | CommandKind::Remind
                | CommandKind::Notify
        ) {
            assert_eq!(edge, Edge::Stay);
        } else {
            assert!(matches!(edge, Edge::Reject(_)), "{kind:?}");
        }
    }
}

/// Walks the real `decide` + `apply` breadth-first from a freshly opened incident, trying every
/// command kind in every reached state. Every status is reached, and every status change
/// observed is an edge of the table (and every edge of the table is observed).
#[test]
fn breadth_first_walk_reaches_every_status_along_table_edges_only() {
    let id = scenario_id();
    let opened = decide(None, &sample(CommandKind::Open, id), &owner(), t0()).unwrap();
    let start = Incident::replay(id, &opened).unwrap();

    let mut seen_status = BTreeSet::from([Status::Open]);
    let mut observed_moves = BTreeSet::new();
    let mut queue = VecDeque::from([start]);
    let mut visited = BTreeSet::from([Status::Open]);
    while let Some(incident) = queue.pop_front() {
        for kind in CommandKind::ALL.into_iter().filter(|k| k.is_command()) {
            let from = incident.status();
            let edge = transition(Some(from), kind);
            let result = decide(Some(&incident), &sample(kind, id), &owner(), t0());
            match (edge, result) {
                (Edge::Reject(reason), Err(rejected)) => assert_eq!(rejected.reason, reason),
                // Commands naming a task or follow-up by number are refused while there is
                // none: a data-level rule on top of the table.
                (Edge::Stay, Err(rejected))
                    if matches!(
                        kind,
                        CommandKind::AssignTask
                            | CommandKind::CompleteTask
                            | CommandKind::CompleteFollowUp
                    ) && incident.tasks().is_empty()
                        && incident.follow_ups().is_empty() =>
                {
                    assert!(
                        matches!(
                            rejected.reason,
                            Refusal::NoSuchTask | Refusal::NoSuchFollowUp
                        ),
                        "{rejected}"
                    );
                }
                // Breach commands other than the declaration need a declared breach.
                (Edge::Stay, Err(rejected))
                    if matches!(kind, CommandKind::SetBecameAware | CommandKind::FileNotice)
                        && incident.breach().is_none() =>
                {
                    assert_eq!(rejected.reason, Refusal::NoBreach);
                }
                (Edge::Ignore, Ok(events)) => assert!(events.is_empty(), "{from:?} {kind:?}"),
                (Edge::Move(to), Ok(events)) => {
                    let mut next = incident.clone();
                    for e in &events {
                        next.apply(e).unwrap();
                    }
                    assert_eq!(next.status(), to, "{from:?} {kind:?}");
                    observed_moves.insert((from, to, kind));
                    seen_status.insert(to);
                    if visited.insert(to) {
                        queue.push_back(next);
                    }
                }
                (Edge::Stay, Ok(events)) => {
                    // At most one event; none when the sample repeats recorded data (the
                    // root cause that led here).
                    assert!(events.len() <= 1, "{from:?} {kind:?}");
                    let mut next = incident.clone();
                    for e in &events {
                        next.apply(e).unwrap();
                    }
                    assert_eq!(next.status(), from);
                }
                (edge, result) => panic!("{from:?} {kind:?}: table says {edge:?}, got {result:?}"),
            }
        }
    }
    assert_eq!(seen_status, Status::ALL.into_iter().collect());
    let table_moves: BTreeSet<_> = table()
        .filter(|t| t.command.is_command())
        .filter_map(|t| match (t.from, t.edge) {
            (Some(from), Edge::Move(to)) => Some((from, to, t.command)),
            _ => None,
        })
        .collect();
    assert_eq!(observed_moves, table_moves);
}

/// Parses the edges `A --> B : label` of the first mermaid block in `text`.
fn mermaid_edges(text: &str) -> BTreeSet<(String, String, String)> {
    let block = text
        .split("```mermaid")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```mermaid block");
    block
        .lines()
        .filter_map(|line| {
            let (edge, label) = line.split_once(':').unwrap_or((line, ""));
            let (from, to) = edge.split_once("-->")?;
            Some((
                from.trim().to_string(),
                to.trim().to_string(),
                label.trim().to_string(),
            ))
        })
        .collect()
}

#[test]
fn readme_diagram_matches_the_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let generated = format!("```mermaid\n{}```", mermaid());
    assert_eq!(
        mermaid_edges(&readme),
        mermaid_edges(&generated),
        "README's lifecycle diagram disagrees with the transition table; the table gives:\n{}",
        mermaid()
    );
}

#[test]
fn mermaid_shows_every_move_of_the_table() {
    let edges = mermaid_edges(&format!("```mermaid\n{}```", mermaid()));
    let moves = table().filter(|t| matches!(t.edge, Edge::Move(_))).count();
    // Plus the final `Closed --> [*]`.
    assert_eq!(edges.len(), moves + 1);
}
