//! Lifecycle scenarios in given/when/then form, against the pure core.

use incidents::error::Refusal;
use incidents::{Change, Command, Resolution, Severity, Status, Text};

use crate::support::{given, owner, responder, scenario_id};

#[test]
fn acknowledging_an_open_incident() {
    given()
        .opened()
        .when(Command::Acknowledge)
        .then_records(&[Change::Acknowledged])
        .then_status(Status::Acknowledged)
        .then_incident(|i| assert!(i.acknowledged_at().is_some()));
}

#[test]
fn acknowledging_twice_is_a_no_op() {
    given()
        .opened()
        .and(Command::Acknowledge)
        .when(Command::Acknowledge)
        .then_nothing_recorded();
}

#[test]
fn acknowledging_further_along_is_a_no_op() {
    given()
        .opened()
        .and(Command::identify("disk full").unwrap())
        .when(Command::Acknowledge)
        .then_nothing_recorded();
}

#[test]
fn investigating_an_open_incident_acknowledges_it() {
    given()
        .opened()
        .when(Command::StartInvestigating)
        .then_records(&[Change::InvestigationStarted])
        .then_status(Status::Investigating)
        .then_incident(|i| assert!(i.acknowledged_at().is_some()));
}

#[test]
fn resolving_straight_from_open_does_not_acknowledge() {
    given()
        .opened()
        .when(Command::resolve(Resolution::FalseAlarm))
        .then_status(Status::Resolved)
        .then_incident(|i| {
            assert_eq!(i.acknowledged_at(), None);
            assert_eq!(i.resolution(), Some(Resolution::FalseAlarm));
        });
}

#[test]
fn the_fix_did_not_hold_so_back_to_investigating() {
    given()
        .opened()
        .and(Command::mitigate("restarted the server").unwrap())
        .when(Command::StartInvestigating)
        .then_status(Status::Investigating);
}

#[test]
fn revising_the_root_cause_records_it_but_repeating_it_does_not() {
    let first = given()
        .opened()
        .and(Command::identify("disk full").unwrap());
    first
        .when(Command::identify("log rotation broken").unwrap())
        .then_status(Status::Identified)
        .then_incident(|i| assert_eq!(i.root_cause().unwrap(), "log rotation broken"));
    given()
        .opened()
        .and(Command::identify("disk full").unwrap())
        .when(Command::identify("disk full").unwrap())
        .then_nothing_recorded();
}

#[test]
fn root_cause_found_after_resolving_does_not_reopen() {
    given()
        .opened()
        .and(Command::resolve(Resolution::Workaround))
        .when(Command::identify("expired certificate").unwrap())
        .then_status(Status::Resolved)
        .then_incident(|i| assert_eq!(i.root_cause().unwrap(), "expired certificate"));
}

#[test]
fn resolving_twice_is_rejected() {
    given()
        .opened()
        .and(Command::resolve(Resolution::Fixed))
        .when(Command::resolve(Resolution::Workaround))
        .then_rejected(Refusal::AlreadyResolved);
}

#[test]
fn an_incident_cannot_duplicate_itself() {
    given()
        .opened()
        .when(Command::resolve(Resolution::Duplicate {
            of: scenario_id(),
        }))
        .then_rejected(Refusal::DuplicateOfItself);
}

#[test]
fn reopening_needs_a_resolved_incident_and_restarts_at_open() {
    given()
        .opened()
        .and(Command::Acknowledge)
        .when(Command::reopen("came back").unwrap())
        .then_rejected(Refusal::NotResolved);
    given()
        .opened()
        .and(Command::Acknowledge)
        .and(Command::resolve(Resolution::Fixed))
        .when(Command::reopen("came back").unwrap())
        .then_status(Status::Open)
        .then_incident(|i| {
            assert_eq!(i.reopen_count(), 1);
            assert_eq!(i.resolved_at(), None);
            assert!(
                i.acknowledged_at().is_some(),
                "first acknowledgement is kept"
            );
        });
}

#[test]
fn closing_needs_a_resolution_and_keeps_it() {
    given()
        .opened()
        .when(Command::close("s", "l").unwrap())
        .then_rejected(Refusal::CloseUnresolved);
    given()
        .opened()
        .and(Command::resolve(Resolution::Fixed))
        .when(Command::close("What happened", "What we learned").unwrap())
        .then_status(Status::Closed)
        .then_incident(|i| {
            assert_eq!(i.resolution(), Some(Resolution::Fixed));
            assert_eq!(i.closure().unwrap().lessons, "What we learned");
            assert!(i.closed_at().is_some());
        });
}

#[test]
fn closed_incidents_accept_nothing() {
    let closed = || {
        given()
            .opened()
            .and(Command::resolve(Resolution::Fixed))
            .and(Command::close("s", "l").unwrap())
    };
    closed()
        .when(Command::note("one more thing").unwrap())
        .then_rejected(Refusal::Closed);
    closed()
        .when(Command::reopen("back").unwrap())
        .then_rejected(Refusal::Closed);
    closed()
        .when(Command::close("again", "again").unwrap())
        .then_rejected(Refusal::Closed);
}

#[test]
fn changing_severity_records_from_and_to_unless_unchanged() {
    given()
        .opened()
        .when(Command::change_severity(Severity::Critical, "all tills down").unwrap())
        .then_records(&[Change::SeverityChanged {
            from: Severity::High,
            to: Severity::Critical,
            reason: Text::new("reason", "all tills down").unwrap(),
        }])
        .then_incident(|i| assert_eq!(i.severity(), Severity::Critical));
    given()
        .opened()
        .when(Command::change_severity(Severity::High, "same").unwrap())
        .then_nothing_recorded();
}

#[test]
fn assigning_the_current_owner_again_records_nothing() {
    given()
        .opened()
        .and(Command::assign_owner(responder()))
        .when(Command::assign_owner(responder()))
        .then_nothing_recorded();
    given()
        .opened()
        .and(Command::assign_owner(responder()))
        .when(Command::assign_owner(owner()))
        .then_incident(|i| assert_eq!(i.owner(), Some(&owner())));
}

#[test]
fn opening_twice_is_rejected() {
    given()
        .opened()
        .when(Command::Open {
            id: scenario_id(),
            incident: crate::support::new_incident(),
        })
        .then_rejected(Refusal::AlreadyExists);
}

#[test]
fn commands_on_a_missing_incident_are_rejected() {
    given()
        .when(Command::Acknowledge)
        .then_rejected(Refusal::DoesNotExist);
}

#[test]
fn notes_and_customer_updates_accumulate_in_order() {
    given()
        .opened()
        .and(Command::note("first").unwrap())
        .and(Command::customer_update("we are on it").unwrap())
        .when(Command::note("second").unwrap())
        .then_incident(|i| {
            let notes: Vec<&str> = i.notes().iter().map(|n| n.text.as_str()).collect();
            assert_eq!(notes, ["first", "second"]);
            assert_eq!(i.customer_updates().len(), 1);
        });
}
