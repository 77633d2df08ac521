//! An incident as a projection snapshot holds it: every field of the fold, as one JSON
//! object, read back without replaying a single event.
//!
//! The layout is the fold's own, so it changes whenever a part's fields change: the desk's
//! snapshot header carries [`FORMAT`](crate::desk) and the crate's version, and a snapshot
//! of another layout is ignored (the desk replays the log instead). Derived data (the
//! signals' occurrence index) is not stored; it is rebuilt on reading.

use serde::{Deserialize, Serialize};

use super::{Clocks, Incident, Outbox, People, Progress, Record, Signals};
use crate::lifecycle::Impact;
use crate::model::{Actor, IncidentId, Service, Source};
use crate::regulatory::state::BreachPart;
use crate::severity::Severity;
use crate::store::Version;
use crate::text::{Text, Title};
use chrono::{DateTime, Utc};

/// Declares the stored form twice from one field list: borrowed for writing (no copy of the
/// incident), owned for reading.
macro_rules! stored {
    ($($field:ident: $ty:ty,)*) => {
        #[derive(Serialize)]
        struct StoredRef<'a> {
            $($field: &'a $ty,)*
        }

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            $($field: $ty,)*
        }

        impl Incident {
            fn stored(&self) -> StoredRef<'_> {
                StoredRef { $($field: &self.$field,)* }
            }

            fn from_stored(stored: Stored) -> Incident {
                Incident { $($field: stored.$field,)* }
            }
        }
    };
}

stored! {
    id: IncidentId,
    title: Title,
    description: Option<Text>,
    severity: Severity,
    service: Service,
    source: Source,
    opened_by: Actor,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    idempotency_key: Option<String>,
    last_human_action_at: Option<DateTime<Utc>>,
    impact_override: Option<Impact>,
    public_title: Option<Title>,
    version: Version,
    progress: Progress,
    clocks: Clocks,
    signals: Signals,
    people: People,
    record: Record,
    outbox: Outbox,
    breach: BreachPart,
}

impl Incident {
    /// Appends this incident's snapshot form to `out`, as one line of JSON (no newline).
    pub(crate) fn write_snapshot(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, &self.stored())
    }

    /// Reads an incident back from what [`write_snapshot`](Incident::write_snapshot) wrote.
    pub(crate) fn read_snapshot(bytes: &[u8]) -> serde_json::Result<Incident> {
        let stored: Stored = serde_json::from_slice(bytes)?;
        let mut incident = Incident::from_stored(stored);
        incident.signals.reindex();
        Ok(incident)
    }
}
