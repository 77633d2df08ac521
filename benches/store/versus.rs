//! The FileStore-against-SqliteStore comparison: one row per workload, printed as a figure
//! with SqliteStore's median as its baseline (ratio > 1: FileStore is ahead), and as a verdict
//! on stderr saying, where FileStore is not ahead, why.

use crate::common::Figure;
use crate::opening::Measured;

/// One row of the comparison.
pub struct Versus {
    /// The workload.
    pub row: String,
    pub unit: &'static str,
    pub file: f64,
    /// FileStore's best run: if it beats SqliteStore's median, the two overlap.
    pub file_best: f64,
    pub sqlite: f64,
    /// What the two sides measure where it is not the same work (printed with the verdict).
    pub note: Option<String>,
    /// Why FileStore falls behind on this row, printed only if it does.
    pub why_not: String,
}

impl Versus {
    pub fn figure(&self) -> Figure {
        Figure::new(
            format!(
                "FileStore vs SqliteStore, {} (median; ratio > 1: FileStore ahead)",
                self.row
            ),
            self.file,
            self.unit,
            "SqliteStore, same workload, same rounds (median)",
            self.sqlite,
        )
    }

    pub fn verdict(&self) -> String {
        let ratio = self.file / self.sqlite;
        let mut line = if ratio > 1.0 {
            format!(
                "FileStore AHEAD of SqliteStore ({ratio:.2}x) on: {}",
                self.row
            )
        } else {
            format!(
                "FileStore NOT ahead of SqliteStore ({ratio:.2}x) on: {}. Why: {}",
                self.row, self.why_not
            )
        };
        if ratio <= 1.0 && self.file_best > self.sqlite {
            line.push_str(&format!(
                ". Caution: FileStore's best run ({:.0} {}) beats SqliteStore's median, so the \
                 two overlap in this run's noise.",
                self.file_best, self.unit
            ));
        }
        if let Some(note) = &self.note {
            line.push_str(" Note: ");
            line.push_str(note);
        }
        line
    }
}

/// The three opening rows (open, `Desk::new`, cold start), from FileStore's and SqliteStore's
/// measurements and the JSON Lines baseline.
pub fn opening(file: &Measured, sqlite: &Measured, baseline: f64) -> [Versus; 3] {
    let row = |row: &str, file: f64, best: f64, sqlite: f64, note: Option<&str>, why_not| Versus {
        row: row.into(),
        unit: "events/s",
        file,
        file_best: best,
        sqlite,
        note: note.map(Into::into),
        why_not,
    };
    let open = row(
        "open: FileStore::open (recovery scan) vs SqliteStore::open + full scan",
        file.open,
        file.best[0],
        sqlite.open,
        Some(
            "not the same work: FileStore::open checks every frame's CRC and indexes the \
             incidents without decoding an event, while SqliteStore has no recovery scan, so \
             its row is SqliteStore::open plus a Store::scan that reads and decodes every \
             event (JSON); the like-for-like rows are Desk::new and cold start",
        ),
        "not like for like (see the note): the recovery scan reads and CRC-checks every frame \
         but decodes no event"
            .into(),
    );
    let replay = row(
        "Desk::new on the opened store, scan + replay",
        file.replay,
        file.best[1],
        sqlite.replay,
        None,
        format!(
            "both decode every event from JSON and replay it into the same desk, and that \
             shared work dominates (FileStore runs at {:.2} of the bare JSON Lines parse, \
             SqliteStore at {:.2}); what differs is only the reading: FileStore::scan reads \
             each segment whole into a fresh buffer and checks every frame's CRC again, \
             SqliteStore steps rows out of its B-tree and copies each into a String",
            file.replay / baseline,
            sqlite.replay / baseline
        ),
    );
    let cold = row(
        "open + Desk::new, cold start of a host",
        file.cold,
        file.best[2],
        sqlite.cold,
        Some(
            "SqliteStore's cold start is its median Desk::new plus its median \
             SqliteStore::open, measured apart in the same rounds",
        ),
        format!(
            "FileStore reads its log twice at a cold start, SQLite its file once: \
             FileStore::open's recovery scan reads every segment and checks every frame's CRC \
             ({:.0}% of FileStore's cold start here, at {:.0} events/s), then Desk::new's \
             Store::scan reads every segment again to decode and replay; that scan + replay is \
             only {:.2}x SqliteStore's (both are dominated by the same JSON decoding and \
             replay), too little to pay for the first pass. FileStore runs at {:.2} of the \
             bare JSON Lines parse, SqliteStore at {:.2}",
            100.0 * file.cold / file.open,
            file.open,
            file.replay / sqlite.replay,
            file.cold / baseline,
            sqlite.cold / baseline
        ),
    );
    [open, replay, cold]
}
