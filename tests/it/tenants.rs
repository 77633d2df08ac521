//! Many shops in one database: desks scoped to tenants never see each other's incidents,
//! alerts dedup per tenant, catch-up is per tenant, export and import work per tenant, and
//! erasing a tenant leaves no row of it, and a database of the previous version becomes
//! the default tenant's. The store-level suite per tenant is `conformance::sqlite_tenant`
//! and `conformance::postgres_tenant`. The PostgreSQL tests need `INCIDENTS_PG_URL` (see
//! `tests/it/sql.rs`) and say they were skipped without it.

#![cfg(any(feature = "sqlite", feature = "postgres"))]

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

#[cfg(feature = "postgres")]
mod postgres {
    use std::time::Duration;

    use incidents::store::{PostgresOptions, PostgresStore};
    use incidents::{Desk, ManualClock, Version};

    use super::*;
    use crate::sql::{fresh_database, pg_url, server_up};

    fn rows_of(url: &str, tenant: &str) -> i64 {
        let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
        ["incident_events", "incident_snapshots", "incident_tenants"]
            .iter()
            .map(|table| {
                client
                    .query_one(
                        &format!("SELECT COUNT(*) FROM {table} WHERE tenant = $1"),
                        &[&tenant],
                    )
                    .unwrap()
                    .get::<_, i64>(0)
            })
            .sum()
    }

    #[test]
    fn two_shops_on_one_postgres_database_never_meet() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let db = PostgresStore::connect(&url).unwrap();
        two_shops_never_meet(|name| db.tenant(tenant(name)));
        assert_eq!(
            db.tenants().unwrap(),
            vec![tenant("shop-a"), tenant("shop-b"), tenant("shop-c")]
        );
        assert_eq!(db.scope(), &Tenant::DEFAULT);
        assert_eq!(
            db.log_end().unwrap(),
            db.tenant(tenant("never")).log_end().unwrap(),
            "the default tenant has no rows"
        );
        assert!(db.feed(0, 10).unwrap().unwrap().is_empty());
    }

    /// A listener of one shop wakes for that shop's appends and not for another's; a
    /// second desk of the shop catches up on what woke it.
    #[test]
    fn a_shop_listens_to_its_own_appends_only() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let db = PostgresStore::connect(&url).unwrap();
        let clock = ManualClock::new(t0());
        let a = Desk::new(db.tenant(tenant("shop-a")), &clock).unwrap();
        let a2 = Desk::new(db.tenant(tenant("shop-a")), &clock).unwrap();
        let b = Desk::new(db.tenant(tenant("shop-b")), &clock).unwrap();
        let default = Desk::new(db.tenant(Tenant::DEFAULT), &clock).unwrap();
        let mut listener = a2.store().listen().unwrap();
        assert_ne!(a.store().channel(), b.store().channel());
        assert_eq!(default.store().channel(), "incident_events");
        assert!(a.store().channel().len() <= 63);

        b.open(&owner(), new_incident(1)).unwrap();
        default.open(&owner(), new_incident(2)).unwrap();
        assert!(
            !listener.wait(Duration::from_millis(300)).unwrap(),
            "appends of shop b and of the default tenant do not wake shop a"
        );
        a.open(&owner(), new_incident(3)).unwrap();
        assert!(listener.wait(Duration::from_secs(10)).unwrap());
        let caught = a2.catch_up().unwrap();
        assert_eq!(caught.new_incidents, 1);
        assert_eq!(a2.counts().total, 1);
    }

    #[test]
    fn erasing_a_shop_leaves_no_row_of_it_and_keeps_the_others() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let db = PostgresStore::connect(&url).unwrap();
        let clock = ManualClock::new(t0());
        for name in ["leaving", "staying"] {
            let desk = Desk::new(db.tenant(tenant(name)), &clock).unwrap();
            for n in 0..4 {
                desk.open(&owner(), new_incident(n)).unwrap();
            }
            desk.save_snapshot().unwrap().unwrap();
        }
        let staying_before = rows_of(&url, "staying");
        assert!(rows_of(&url, "leaving") > 0);

        let erased = db.tenant(tenant("leaving")).erase().unwrap();
        assert!(erased >= 4, "{erased} events erased");
        assert_eq!(rows_of(&url, "leaving"), 0);
        assert_eq!(rows_of(&url, "staying"), staying_before);
        assert_eq!(db.tenants().unwrap(), vec![tenant("staying")]);
        let staying = Desk::new(db.tenant(tenant("staying")), &clock).unwrap();
        assert_eq!(staying.counts().total, 4);
        assert_eq!(staying.opening().events_replayed, 0);
        assert_eq!(db.tenant(tenant("leaving")).erase().unwrap(), 0);
        assert_eq!(db.tenant(tenant("never")).erase().unwrap(), 0);
        let again = Desk::new(db.tenant(tenant("leaving")), &clock).unwrap();
        assert_eq!(again.counts().total, 0);
        again.open(&owner(), new_incident(0)).unwrap();
        assert_eq!(again.counts().total, 1);
        assert_eq!(
            again.store().feed(0, 100).unwrap().unwrap()[0].position,
            1,
            "the name starts again from position 1"
        );
    }

    /// An append of one shop in flight (its counter row locked, not committed) holds back
    /// that shop's next append only: another shop and the default tenant append at once.
    #[test]
    fn an_append_in_flight_holds_back_its_own_shop_only() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let options = PostgresOptions::new().statement_timeout(Duration::from_millis(500));
        let db = PostgresStore::connect_with(&url, options).unwrap();
        let events = crate::support::note_events(0, 1);
        let id = crate::support::nth_id(1);
        let a = db.tenant(tenant("shop-a"));
        a.append(id, Version::ZERO, &events).unwrap();
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let mut tx = client.transaction().unwrap();
        tx.execute(
            "UPDATE incident_tenants SET last_position = last_position WHERE tenant = 'shop-a'",
            &[],
        )
        .unwrap();
        db.tenant(tenant("shop-b"))
            .append(id, Version::ZERO, &events)
            .unwrap();
        db.append(id, Version::ZERO, &events).unwrap();
        let held = a.append(id, Version::new(1), &events).unwrap_err();
        assert!(
            matches!(held, incidents::Error::Unavailable { .. }),
            "shop a waits for its own append in flight: {held}"
        );
        tx.rollback().unwrap();
        assert_eq!(
            a.append(id, Version::new(1), &events).unwrap(),
            Version::new(2)
        );
    }

    /// Two shops appending at once from several threads each: every append lands, each
    /// shop's positions run 1, 2, 3... without a gap, and neither shop's rows show in the
    /// other's feed.
    #[test]
    fn shops_append_at_once_with_gapless_positions_each() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let db =
            PostgresStore::connect_with(&url, PostgresOptions::new().max_connections(4)).unwrap();
        let events = crate::support::note_events(0, 2);
        std::thread::scope(|s| {
            for shop in ["shop-a", "shop-b"] {
                for thread in 0..2u64 {
                    let store = db.tenant(tenant(shop));
                    let events = &events;
                    s.spawn(move || {
                        for n in 0..25 {
                            let id = crate::support::nth_id(thread * 1000 + n);
                            store.append(id, Version::ZERO, events).unwrap();
                        }
                    });
                }
            }
        });
        for shop in ["shop-a", "shop-b"] {
            let feed = db.tenant(tenant(shop)).feed(0, 1000).unwrap().unwrap();
            assert_eq!(
                feed.iter().map(|i| i.position).collect::<Vec<_>>(),
                (1..=100).collect::<Vec<_>>(),
                "{shop}"
            );
        }
    }

    /// A database of 0.1 (the committed schema 1 dump) opens with its rows as the default
    /// tenant's, positions kept; connecting again changes nothing; a named tenant starts
    /// empty beside it; the default tenant appends after its last position.
    #[test]
    fn a_schema_1_database_becomes_the_default_tenant() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        client
            .batch_execute(&crate::schema::postgres_database::statements())
            .unwrap();
        let before: Vec<i64> = client
            .query(
                "SELECT position FROM incident_events ORDER BY position",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!before.is_empty());
        let positions = |client: &mut ::postgres::Client| -> Vec<(String, i64)> {
            client
                .query(
                    "SELECT tenant, position FROM incident_events ORDER BY position",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        };
        let store = PostgresStore::connect(&url).unwrap();
        let after = positions(&mut client);
        assert_eq!(
            after,
            before
                .iter()
                .map(|p| (String::new(), *p))
                .collect::<Vec<_>>(),
            "every row is the default tenant's, at its old position"
        );
        let feed = store.feed(0, 10_000).unwrap().unwrap();
        let id = feed[0].incident;
        let version = store.version(id).unwrap();
        assert!(version > Version::ZERO);
        assert!(
            store.load_snapshot().unwrap().is_some(),
            "the snapshot is kept"
        );
        drop(store);
        let store = PostgresStore::connect(&url).unwrap();
        assert_eq!(
            positions(&mut client),
            after,
            "a second connect migrates nothing"
        );
        let shop = store.tenant(tenant("shop-1"));
        assert_eq!(shop.version(id).unwrap(), Version::ZERO);
        assert_eq!(shop.load_snapshot().unwrap(), None);
        let next = store
            .append(id, version, &crate::support::note_events(0, 1))
            .unwrap();
        assert_eq!(next, version.next());
        let last = store.feed(0, 10_000).unwrap().unwrap();
        assert_eq!(
            last.last().unwrap().position as i64,
            before.last().unwrap() + 1
        );
        let schema: i32 = client
            .query_one("SELECT MAX(version) FROM incidents_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(schema, 2);
        let old_tables: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE '%\\_v1'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(old_tables, 0, "the tables of schema 1 are gone");
    }

    /// The tables partitioned by hash of tenant before the first connect, as ARCHITECTURE.md
    /// shows a vendor: the store makes nothing over them, works as before, and the rows of
    /// many shops spread over the partitions.
    #[test]
    fn hash_partitioned_tables_made_by_the_vendor_work_as_they_are() {
        let Some(base) = pg_url() else { return };
        let _up = server_up();
        let url = fresh_database(&base);
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        client.batch_execute(PARTITIONED_DDL).unwrap();
        let db = PostgresStore::connect(&url).unwrap();
        let clock = ManualClock::new(t0());
        for shop in 0..16 {
            let desk = Desk::new(db.tenant(tenant(&format!("shop-{shop}"))), &clock).unwrap();
            desk.open(&owner(), new_incident(shop)).unwrap();
            desk.save_snapshot().unwrap().unwrap();
        }
        two_shops_never_meet(|name| db.tenant(tenant(name)));
        let kind: i8 = client
            .query_one(
                "SELECT relkind FROM pg_class WHERE relname = 'incident_events'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            kind as u8, b'p',
            "incident_events is still the partitioned table"
        );
        let filled: i64 = client
            .query_one("SELECT COUNT(DISTINCT tableoid) FROM incident_events", &[])
            .unwrap()
            .get(0);
        assert!(filled > 1, "rows in {filled} partition(s)");
        let schema: i32 = client
            .query_one("SELECT MAX(version) FROM incidents_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(schema, 2);
    }

    /// The DDL ARCHITECTURE.md ("Tenants") points a vendor to.
    const PARTITIONED_DDL: &str = include_str!("../../docs/partition-by-tenant.sql");
}
