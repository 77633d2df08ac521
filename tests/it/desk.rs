//! The Desk: bad input, errors, time, concurrency, restart.

use std::sync::Arc;

use chrono::Duration;
use incidents::{
    Actor, Change, Command, Desk, Error, Filter, IncidentId, ManualClock, MemoryStore, NewIncident,
    Resolution, Role, Severity, Source, Status, Store, Version,
};

use crate::support::{new_incident, owner, responder, t0};

fn desk() -> Desk<MemoryStore, ManualClock> {
    Desk::new(MemoryStore::new(), ManualClock::new(t0())).unwrap()
}

#[test]
fn desk_and_stores_are_send_sync_and_the_store_trait_is_object_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Desk<MemoryStore, ManualClock>>();
    assert_send_sync::<Desk<Box<dyn Store>, ManualClock>>();
    assert_send_sync::<Error>();
    let boxed: Box<dyn Store> = Box::new(MemoryStore::new());
    let desk = Desk::new(boxed, ManualClock::new(t0())).unwrap();
    desk.open(&owner(), new_incident()).unwrap();
}

#[test]
fn bad_input_names_the_field_and_the_rule() {
    let cases: Vec<(Result<NewIncident, incidents::Invalid>, &str, &str)> = vec![
        (
            NewIncident::new("", Severity::Low, "shop", Source::Alert),
            "title",
            "empty",
        ),
        (
            NewIncident::new("   \t ", Severity::Low, "shop", Source::Alert),
            "title",
            "empty",
        ),
        (
            NewIncident::new("x".repeat(201), Severity::Low, "shop", Source::Alert),
            "title",
            "at most 200",
        ),
        (
            NewIncident::new("two\nlines", Severity::Low, "shop", Source::Alert),
            "title",
            "control",
        ),
        (
            NewIncident::new("ok", Severity::Low, "", Source::Alert),
            "service",
            "empty",
        ),
        (
            NewIncident::new("ok", Severity::Low, "shop;drop", Source::Alert),
            "service",
            "may contain only",
        ),
    ];
    for (result, field, rule) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.field, field);
        assert!(err.rule.contains(rule), "{err}");
    }
    let err = Command::note("x".repeat(incidents::limits::TEXT_MAX_CHARS + 1)).unwrap_err();
    assert_eq!(err.field, "note");
    assert!(err.rule.contains("at most 10000"), "{err}");
    let err = "sev9".parse::<Severity>().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid severity: unknown severity \"sev9\"; expected {}",
            incidents::Severity::SPELLINGS
        )
    );
    // Invalid converts into the crate's Error.
    let err: Error = err.into();
    assert!(matches!(err, Error::Invalid(_)));
}

#[test]
fn deserialising_a_command_validates_it() {
    let bad = r#"{"command":"add_note","text":"   "}"#;
    assert!(serde_json::from_str::<Command>(bad).is_err());
    let good = r#"{"command":"add_note","text":"checked the logs"}"#;
    let cmd: Command = serde_json::from_str(good).unwrap();
    assert_eq!(cmd, Command::note("checked the logs").unwrap());
}

#[test]
fn unknown_incidents_are_not_found() {
    let desk = desk();
    let missing = IncidentId::from_bytes([9; 16]);
    assert!(matches!(desk.get(missing), Err(Error::NotFound { id }) if id == missing));
    assert!(matches!(
        desk.act(missing, &owner(), Command::Acknowledge),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(desk.history(missing), Err(Error::NotFound { .. })));
}

#[test]
fn duplicate_of_a_missing_incident_is_not_found_and_changes_nothing() {
    let desk = desk();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    let missing = IncidentId::from_bytes([9; 16]);
    let err = desk
        .act(
            id,
            &owner(),
            Command::resolve(Resolution::Duplicate { of: missing }),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { id } if id == missing));
    assert_eq!(desk.get(id).unwrap().status(), Status::Open);
    assert_eq!(desk.history(id).unwrap().len(), 1);
}

#[test]
fn a_rejected_command_changes_nothing_in_memory_or_in_the_store() {
    let desk = desk();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    let before = desk.get(id).unwrap();
    let stored = desk.store().load(id).unwrap();
    let err = desk
        .act(id, &owner(), Command::reopen("not resolved").unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reopen incident {id} (it is acknowledged): only a resolved incident can be reopened"
        )
    );
    assert_eq!(desk.get(id).unwrap(), before);
    assert_eq!(desk.store().load(id).unwrap(), stored);
}

#[test]
fn the_timeline_never_goes_backwards_when_the_clock_does() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    clock.advance(Duration::minutes(10));
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    clock.advance(Duration::hours(-2)); // someone fixes the till's clock
    let receipt = desk
        .act(id, &owner(), Command::note("after the clock step").unwrap())
        .unwrap();
    assert_eq!(receipt.events[0].at, t0() + Duration::minutes(10));
    let history = desk.history(id).unwrap();
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn open_records_who_when_and_what() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let receipt = desk.open(&owner(), new_incident()).unwrap();
    assert_eq!(receipt.version, Version::new(1));
    let incident = desk.get(receipt.id).unwrap();
    assert_eq!(incident.created_at(), t0());
    assert_eq!(incident.opened_by(), &owner());
    assert_eq!(incident.title(), "Checkout crashes");
    assert_eq!(incident.status(), Status::Open);
    // Ids are UUID v7 carrying the clock's time.
    let (secs, _) = receipt.id.as_uuid().get_timestamp().unwrap().to_unix();
    assert_eq!(secs as i64, t0().timestamp());
    assert!(matches!(
        receipt.events[0].change,
        Change::Opened { id, .. } if id == receipt.id
    ));
}

#[test]
fn list_filters_by_status_severity_and_service_oldest_first() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let open = |title: &str, severity, service: &str| {
        clock.advance(Duration::minutes(1));
        desk.open(
            &owner(),
            NewIncident::new(title, severity, service, Source::StaffReport).unwrap(),
        )
        .unwrap()
        .id
    };
    let till = open("Till frozen", Severity::High, "POS");
    let printer = open("Receipt printer jammed", Severity::Low, "POS");
    let shop = open("Shop slow", Severity::Medium, "online shop");
    desk.act(printer, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();

    let titles = |filter: &Filter| -> Vec<String> {
        desk.list(filter)
            .iter()
            .map(|i| i.title().to_string())
            .collect()
    };
    assert_eq!(
        titles(&Filter::all()),
        ["Till frozen", "Receipt printer jammed", "Shop slow"]
    );
    assert_eq!(titles(&Filter::active()), ["Till frozen", "Shop slow"]);
    assert_eq!(
        titles(&Filter::all().service("POS".parse().unwrap())),
        ["Till frozen", "Receipt printer jammed"]
    );
    assert_eq!(
        titles(&Filter::active().min_severity(Severity::Medium)),
        ["Till frozen", "Shop slow"]
    );
    assert_eq!(
        titles(&Filter::all().status(Status::Resolved)),
        ["Receipt printer jammed"]
    );
    let counts = desk.counts();
    assert_eq!((counts.total, counts.active), (3, 2));
    assert_eq!(counts.by_status[&Status::Open], 2);
    assert_eq!(counts.by_status[&Status::Resolved], 1);
    assert_eq!(counts.active_by_severity[&Severity::High], 1);
    assert!(!counts.active_by_severity.contains_key(&Severity::Low));
    let _ = (till, shop);
}

#[test]
fn a_restarted_desk_sees_the_same_incidents() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let first = Desk::new(Arc::clone(&store), &clock).unwrap();
    let id = first.open(&owner(), new_incident()).unwrap().id;
    first.act(id, &owner(), Command::Acknowledge).unwrap();
    first
        .act(id, &owner(), Command::identify("bad deploy").unwrap())
        .unwrap();
    let second = Desk::new(Arc::clone(&store), &clock).unwrap();
    assert_eq!(second.get(id).unwrap(), first.get(id).unwrap());
    assert_eq!(second.counts(), first.counts());
}

#[test]
fn threads_on_one_incident_through_one_desk_lose_no_update() {
    let desk = desk();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    let threads = 8;
    let per_thread = 50;
    std::thread::scope(|s| {
        for t in 0..threads {
            let desk = &desk;
            s.spawn(move || {
                let actor = Actor::new(format!("worker-{t}"), "Worker", Role::Responder).unwrap();
                for n in 0..per_thread {
                    desk.act(id, &actor, Command::note(format!("{t}/{n}")).unwrap())
                        .unwrap();
                }
            });
        }
    });
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.notes().len(), threads * per_thread);
    assert_eq!(incident.version().get(), 1 + (threads * per_thread) as u64);
    let stored = desk.store().load(id).unwrap();
    assert_eq!(incidents::Incident::replay(id, &stored).unwrap(), incident);
}

/// Two desks share one store, as two tills or two server processes would. They race on the
/// same incident: every command either lands or returns a typed `Conflict`; nothing that
/// returned `Ok` is lost.
#[test]
fn two_desks_on_one_store_lose_no_update() {
    let store = Arc::new(MemoryStore::new());
    let desks: Vec<_> = (0..2)
        .map(|_| Desk::new(Arc::clone(&store), ManualClock::new(t0())).unwrap())
        .collect();
    let opened = desks[0].open(&owner(), new_incident()).unwrap();
    let (id, opening) = (opened.id, opened.version.get() as usize);
    let per_thread = 200;
    let results: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = desks
            .iter()
            .enumerate()
            .map(|(d, desk)| {
                s.spawn(move || {
                    let (mut ok, mut conflicts) = (0, 0);
                    for n in 0..per_thread {
                        match desk.act(id, &responder(), Command::note(format!("{d}/{n}")).unwrap())
                        {
                            Ok(_) => ok += 1,
                            Err(Error::Conflict(_)) => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (ok, conflicts)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let landed: usize = results.iter().map(|(ok, _)| ok).sum();
    for (ok, conflicts) in &results {
        assert_eq!(ok + conflicts, per_thread, "results: {results:?}");
    }
    // A command returns `Conflict` only after the other desk's appends beat every one of its
    // retries, each after a reload within that call; so each desk's conflicts are at most the
    // other's successes, and at least one racer's worth of commands landed.
    assert!(landed >= per_thread, "results: {results:?}");
    assert!(results[0].1 <= results[1].0 && results[1].1 <= results[0].0);
    // The stored history: the opening, then exactly the notes that returned `Ok`, each desk's
    // in the order it sent them.
    let stored = store.load(id).unwrap();
    assert_eq!(stored.len(), opening + landed);
    assert!(matches!(stored[0].change, Change::Opened { .. }));
    let notes: Vec<(usize, usize)> = stored[opening..]
        .iter()
        .map(|e| match &e.change {
            Change::NoteAdded { text } => {
                let (d, n) = text.as_str().split_once('/').unwrap();
                (d.parse().unwrap(), n.parse().unwrap())
            }
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    for (d, (ok, _)) in results.iter().enumerate() {
        let sent: Vec<usize> = notes
            .iter()
            .filter(|(by, _)| *by == d)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(sent.len(), *ok, "desk {d}: results {results:?}");
        assert!(sent.windows(2).all(|w| w[0] < w[1]), "desk {d}: {sent:?}");
    }
    assert_eq!(
        store.version(id).unwrap(),
        Version::new((opening + landed) as u64)
    );
    // A third desk over the store sees exactly what was stored.
    let fresh = Desk::new(Arc::clone(&store), ManualClock::new(t0())).unwrap();
    assert_eq!(fresh.get(id).unwrap().notes().len(), landed);
    assert_eq!(fresh.history(id).unwrap(), stored);
}

#[test]
fn a_desk_finds_incidents_another_desk_opened() {
    let store = Arc::new(MemoryStore::new());
    let a = Desk::new(Arc::clone(&store), ManualClock::new(t0())).unwrap();
    let b = Desk::new(Arc::clone(&store), ManualClock::new(t0())).unwrap();
    let id = a.open(&owner(), new_incident()).unwrap().id;
    b.act(id, &owner(), Command::Acknowledge).unwrap();
    // `a` is now behind; its next command conflicts, reloads, and decides again.
    a.act(id, &owner(), Command::StartInvestigating).unwrap();
    assert_eq!(b.history(id).unwrap().len(), 3);
    assert_eq!(a.get(id).unwrap().status(), Status::Investigating);
}

/// The 74 random bits of a UUID v7: `rand_a` (12 bits) then `rand_b` (62 bits), without the
/// 48-bit time, the version and the variant.
fn random_bits(id: IncidentId) -> u128 {
    let v = u128::from_be_bytes(*id.as_bytes());
    ((v >> 64) & 0xFFF) << 62 | (v & ((1 << 62) - 1))
}

#[test]
fn two_desks_started_at_the_same_instant_make_different_ids() {
    let clock = ManualClock::new(t0());
    let a = Desk::new(MemoryStore::new(), &clock).unwrap();
    let b = Desk::new(MemoryStore::new(), &clock).unwrap();
    let ia = a.open(&owner(), new_incident()).unwrap().id;
    let ib = b.open(&owner(), new_incident()).unwrap().id;
    assert_eq!(
        ia.as_uuid().get_timestamp(),
        ib.as_uuid().get_timestamp(),
        "same clock, same time part"
    );
    assert_ne!(ia, ib);
    assert_ne!(random_bits(ia), random_bits(ib));
}

#[test]
fn ids_opened_at_one_instant_are_distinct_and_every_random_bit_varies() {
    let desk = desk();
    let ids: Vec<IncidentId> = (0..400)
        .map(|_| desk.open(&owner(), new_incident()).unwrap().id)
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let all_bits = (1u128 << 74) - 1;
    let (ones, zeros) = ids.iter().fold((0u128, 0u128), |(ones, zeros), &id| {
        let bits = random_bits(id);
        (ones | bits, zeros | (!bits & all_bits))
    });
    // Each of the 74 bits was seen set and seen clear (a fair bit stays constant over 400
    // ids with probability 2^-399).
    assert_eq!(ones, all_bits, "a random bit was never set");
    assert_eq!(zeros, all_bits, "a random bit was never clear");
    for id in &ids {
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let (secs, _) = id.as_uuid().get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, t0().timestamp());
    }
}

/// SplitMix64, the generator ids once came from: `state += GAMMA`, then `mix(state)`.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn splitmix_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn splitmix_unmix(z: u64) -> u64 {
    // The inverse of `x ^ (x >> k)`, and of multiplying by an odd number modulo 2^64.
    fn unshift(y: u64, k: u32) -> u64 {
        (0..64 / k + 1).fold(y, |x, _| y ^ (x >> k))
    }
    fn inverse(a: u64) -> u64 {
        // Newton's iteration; `a` is its own inverse modulo 8, each step doubles the bits.
        (0..5).fold(a, |x, _| {
            x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)))
        })
    }
    let z = unshift(z, 31).wrapping_mul(inverse(0x94D0_49BB_1331_11EB));
    let z = unshift(z, 27).wrapping_mul(inverse(0xBF58_476D_1CE4_E5B9));
    unshift(z, 30)
}

/// Incident ids must not be guessable from earlier ones. They once took their random bits
/// from a SplitMix64 sequence: bytes 6..14 of id n were one output, so undoing the mix gave
/// the generator's state and id n+1 followed. Whatever the generator, that step must not
/// predict the next id.
#[test]
fn the_next_id_does_not_follow_from_the_previous_one() {
    let state = 0x0123_4567_89AB_CDEF;
    assert_eq!(splitmix_unmix(splitmix_mix(state)), state);

    // Bytes 6..14 of the UUID, read little-endian as the old generator wrote them; the
    // version nibble (bits 4..8) and the variant (bits 22, 23) replaced what it wrote there.
    let known: u64 = !(0xF0 | 0b11 << 22);
    let output = |id: IncidentId| {
        let bytes: [u8; 8] = id.as_bytes()[6..14].try_into().unwrap();
        u64::from_le_bytes(bytes)
    };
    let predicts = |previous: IncidentId, next: IncidentId| {
        // Every value of the 6 overwritten bits; id n used two outputs, so id n+1's first is
        // two steps on.
        (0..64u64).any(|hidden| {
            let guess = (output(previous) & known) | (hidden & 0xF) << 4 | (hidden >> 4) << 22;
            let predicted = splitmix_mix(splitmix_unmix(guess).wrapping_add(GAMMA.wrapping_mul(2)));
            predicted & known == output(next) & known
        })
    };
    let desk = desk();
    let ids: Vec<IncidentId> = (0..50)
        .map(|_| desk.open(&owner(), new_incident()).unwrap().id)
        .collect();
    let predicted = ids.windows(2).filter(|w| predicts(w[0], w[1])).count();
    assert_eq!(predicted, 0, "ids {ids:?}");
}
