//! Many shops in one database: desks scoped to tenants never see each other's incidents,
//! alerts dedup per tenant, catch-up is per tenant, export and import work per tenant, and
//! erasing a tenant leaves no row of it. The store-level suite per tenant is
//! `conformance::sqlite_tenant`.

#![cfg(feature = "sqlite")]

use incidents::intake::Ingested;
use incidents::store::{Tenant, export_jsonl, import_jsonl};
use incidents::{Alert, Desk, ManualClock, NewIncident, Severity, Source, Store};

use crate::support::{owner, t0};

fn tenant(name: &str) -> Tenant {
    Tenant::new(name).unwrap()
}

fn alert(fingerprint: &str) -> Alert {
    Alert::firing(
        "uptime",
        fingerprint,
        "online shop",
        "Checkout returns 500",
        t0(),
    )
    .unwrap()
}

fn new_incident(n: usize) -> NewIncident {
    NewIncident::new(
        format!("till {n} jams"),
        Severity::High,
        "POS",
        Source::StaffReport,
    )
    .unwrap()
}

/// Two shops on one database: the same alert key opens one incident in each, each desk
/// counts its own, a second desk of a shop catches up on that shop's incidents only, and an
/// export of one shop imports into a third as the same histories.
fn two_shops_never_meet<S: Store>(scoped: impl Fn(&str) -> S) {
    let clock = ManualClock::new(t0());
    let a = Desk::new(scoped("shop-a"), &clock).unwrap();
    let b = Desk::new(scoped("shop-b"), &clock).unwrap();
    let Ingested::Opened { id: in_a } = a.ingest(&alert("checkout")).unwrap() else {
        panic!("shop a opens its own incident");
    };
    let Ingested::Opened { id: in_b } = b.ingest(&alert("checkout")).unwrap() else {
        panic!("the same alert key in shop b is shop b's own incident, not a duplicate");
    };
    // Ids from an alert key are derived from it, so both shops hold the same incident id:
    // the case tenants exist for.
    assert_eq!(in_a, in_b);
    assert!(matches!(
        a.ingest(&alert("checkout")).unwrap(),
        Ingested::Duplicate { id } if id == in_a
    ));
    for n in 0..3 {
        a.open(&owner(), new_incident(n)).unwrap();
    }
    let only_b = b.open(&owner(), new_incident(9)).unwrap().id;
    assert_eq!(a.counts().total, 4);
    assert_eq!(b.counts().total, 2);
    assert!(a.get(only_b).is_err(), "shop a sees no incident of shop b");
    assert!(a.store().load(only_b).unwrap().is_empty());

    // A second desk of shop a (another till) catches up on shop a only.
    let a2 = Desk::new(scoped("shop-a"), &clock).unwrap();
    assert_eq!(a2.counts().total, 4);
    a.open(&owner(), new_incident(4)).unwrap();
    b.open(&owner(), new_incident(10)).unwrap();
    let caught = a2.catch_up().unwrap();
    assert_eq!(caught.new_incidents, 1);
    assert_eq!(a2.counts().total, 5);

    // Export shop a, import into shop c: the same histories, and nothing of shop b.
    let mut out = Vec::new();
    let exported = export_jsonl(a.store(), &mut out).unwrap();
    assert_eq!(exported.incidents, 5);
    let c = scoped("shop-c");
    let imported = import_jsonl(&c, &mut out.as_slice()).unwrap();
    assert_eq!(imported.incidents, 5);
    assert_eq!(
        c.load(in_a).unwrap(),
        a.store().load(in_a).unwrap(),
        "shop c holds shop a's history"
    );
    assert!(c.load(only_b).unwrap().is_empty());
    let c_desk = Desk::new(c, &clock).unwrap();
    assert_eq!(c_desk.counts().total, 5);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use incidents::store::SqliteStore;
    use incidents::{Desk, ManualClock, Version};

    use super::*;

    fn rows_of(path: &std::path::Path, tenant: &str) -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        ["incident_events", "incident_snapshots", "incident_tenants"]
            .iter()
            .map(|table| {
                conn.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE tenant = ?1"),
                    [tenant],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
            })
            .sum()
    }

    #[test]
    fn two_shops_on_one_sqlite_file_never_meet() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path().join("shops.db")).unwrap();
        two_shops_never_meet(|name| db.tenant(tenant(name)));
        assert_eq!(
            db.tenants().unwrap(),
            vec![tenant("shop-a"), tenant("shop-b"), tenant("shop-c")]
        );
        assert_eq!(db.scope(), &Tenant::DEFAULT);
        assert_eq!(
            db.log_end().unwrap(),
            SqliteStore::open(dir.path().join("empty.db"))
                .unwrap()
                .log_end()
                .unwrap(),
            "the default tenant has no rows"
        );
    }

    #[test]
    fn erasing_a_shop_leaves_no_row_of_it_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shops.db");
        let db = SqliteStore::open(&path).unwrap();
        let clock = ManualClock::new(t0());
        for name in ["leaving", "staying"] {
            let desk = Desk::new(db.tenant(tenant(name)), &clock).unwrap();
            for n in 0..4 {
                desk.open(&owner(), new_incident(n)).unwrap();
            }
            desk.save_snapshot().unwrap().unwrap();
        }
        let staying_before = rows_of(&path, "staying");
        assert!(rows_of(&path, "leaving") > 0);

        let erased = db.tenant(tenant("leaving")).erase().unwrap();
        assert!(erased >= 4, "{erased} events erased");
        assert_eq!(rows_of(&path, "leaving"), 0);
        assert_eq!(rows_of(&path, "staying"), staying_before);
        assert_eq!(db.tenants().unwrap(), vec![tenant("staying")]);
        let staying = Desk::new(db.tenant(tenant("staying")), &clock).unwrap();
        assert_eq!(staying.counts().total, 4);
        assert_eq!(
            staying.opening().events_replayed,
            0,
            "the staying shop's snapshot is still its own"
        );
        // Erasing again, or a shop that never was, deletes nothing.
        assert_eq!(db.tenant(tenant("leaving")).erase().unwrap(), 0);
        assert_eq!(db.tenant(tenant("never")).erase().unwrap(), 0);
        // The name can be used again, from an empty history.
        let again = Desk::new(db.tenant(tenant("leaving")), &clock).unwrap();
        assert_eq!(again.counts().total, 0);
        again.open(&owner(), new_incident(0)).unwrap();
        assert_eq!(again.counts().total, 1);
    }

    /// A database of 0.1 (the committed schema 1 file) opens with its rows as the default
    /// tenant's, positions kept; opening again changes nothing; a named tenant starts empty
    /// beside it.
    #[test]
    fn a_schema_1_database_becomes_the_default_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/schema-v1/sqlite.db"),
            &path,
        )
        .unwrap();
        let positions = |path: &std::path::Path| -> Vec<(String, i64)> {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut select = conn
                .prepare("SELECT tenant, position FROM incident_events ORDER BY position")
                .unwrap();
            select
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let before = {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let mut select = conn
                .prepare("SELECT position FROM incident_events ORDER BY position")
                .unwrap();
            select
                .query_map([], |r| r.get::<_, i64>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        assert!(!before.is_empty());
        let store = SqliteStore::open(&path).unwrap();
        let after = positions(&path);
        assert_eq!(
            after,
            before
                .iter()
                .map(|p| (String::new(), *p))
                .collect::<Vec<_>>(),
            "every row is the default tenant's, at its old position"
        );
        let feed = store.feed(0, 10_000).unwrap().unwrap();
        assert_eq!(
            feed.iter().map(|i| i.position as i64).collect::<Vec<_>>(),
            before
        );
        let id = feed[0].incident;
        let version = store.version(id).unwrap();
        assert!(version > Version::ZERO);
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(positions(&path), after, "a second open migrates nothing");
        let shop = store.tenant(tenant("shop-1"));
        assert_eq!(shop.version(id).unwrap(), Version::ZERO);
        assert_eq!(shop.load_snapshot().unwrap(), None);
        // The default tenant appends after its last position.
        let next = store
            .append(id, version, &crate::support::note_events(0, 1))
            .unwrap();
        assert_eq!(next, version.next());
        let last = store.feed(0, 10_000).unwrap().unwrap();
        assert_eq!(
            last.last().unwrap().position as i64,
            before.last().unwrap() + 1
        );
        let schema: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT MAX(version) FROM incidents_schema", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(schema, 2);
    }
}
