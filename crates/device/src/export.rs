//! Exporting what the device holds as CSV, for the commune office's
//! spreadsheets and for scripts. One table per export; dates stay in the
//! stored forms (ISO dates, UTC timestamps) so they sort and parse.

use std::io::Write;

use crate::error::{Result, StoreError};
use crate::store::Store;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTable {
    /// Households with village, commune and status counts.
    Households,
    /// People.
    People,
    /// Visits.
    Visits,
    /// Checklist runs with their progress.
    Runs,
    /// Step events.
    Steps,
}

impl ExportTable {
    /// Every table, for `--what` help.
    pub const NAMES: &'static [&'static str] = &["households", "people", "visits", "runs", "steps"];

    /// Parses a table name.
    pub fn parse(s: &str) -> Result<ExportTable> {
        match s.trim().to_ascii_lowercase().as_str() {
            "households" => Ok(ExportTable::Households),
            "people" | "persons" => Ok(ExportTable::People),
            "visits" => Ok(ExportTable::Visits),
            "runs" | "checklists" => Ok(ExportTable::Runs),
            "steps" | "step-events" => Ok(ExportTable::Steps),
            other => Err(StoreError::Rule(format!(
                "unknown export {other:?} (expected one of: {})",
                Self::NAMES.join(", ")
            ))),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            ExportTable::Households => {
                "SELECT h.id, c.name AS commune, v.name AS village, h.head_name, h.landmark, h.phone, h.members_count,
                        h.language, h.notes, h.lat_e7 / 1e7 AS latitude, h.lng_e7 / 1e7 AS longitude, h.created_at,
                        (SELECT count(*) FROM visit x WHERE x.household_id = h.id AND x.deleted = 0) AS visits,
                        (SELECT max(started_at) FROM visit x WHERE x.household_id = h.id AND x.deleted = 0) AS last_visit_at
                 FROM household h JOIN village v ON v.id = h.village_id JOIN commune c ON c.id = v.commune_id
                 WHERE h.deleted = 0 ORDER BY c.name, v.name, h.head_name, h.id"
            }
            ExportTable::People => {
                "SELECT p.id, p.household_id, v.name AS village, p.name, p.birth_year, p.phone, p.phone_kind,
                        p.phone_in_own_name, p.chip_id_card, p.notes
                 FROM person p JOIN household h ON h.id = p.household_id JOIN village v ON v.id = h.village_id
                 WHERE p.deleted = 0 ORDER BY v.name, h.head_name, p.name, p.id"
            }
            ExportTable::Visits => {
                "SELECT x.id, x.household_id, v.name AS village, h.head_name, x.started_at, x.ended_at, x.outcome,
                        x.follow_up_on, x.notes, x.referred_by, x.member_id, x.device_id
                 FROM visit x JOIN household h ON h.id = x.household_id JOIN village v ON v.id = h.village_id
                 WHERE x.deleted = 0 ORDER BY x.started_at, x.id"
            }
            ExportTable::Runs => {
                "SELECT r.id, r.household_id, v.name AS village, r.person_id, p.name AS person, r.pack_key, r.pack_version,
                        r.started_at, r.status, r.steps_done, r.steps_skipped, r.steps_blocked, r.steps_total, r.current_step
                 FROM checklist_run r JOIN person p ON p.id = r.person_id JOIN household h ON h.id = r.household_id
                 JOIN village v ON v.id = h.village_id
                 WHERE r.deleted = 0 ORDER BY r.started_at, r.id"
            }
            ExportTable::Steps => {
                "SELECT e.id, e.run_id, r.pack_key, r.pack_version, e.step_id, e.outcome, e.blocker, e.at, e.note
                 FROM step_event e JOIN checklist_run r ON r.id = e.run_id ORDER BY e.at, e.id"
            }
        }
    }
}

impl Store {
    /// Writes one table as CSV with a header row; returns the rows written.
    /// With `excel`, a UTF-8 byte-order mark goes first so spreadsheet
    /// programs show Vietnamese correctly.
    pub fn export_csv(&self, table: ExportTable, out: impl Write, excel: bool) -> Result<usize> {
        let io = StoreError::Export;
        let mut out = out;
        if excel {
            out.write_all("\u{feff}".as_bytes()).map_err(io)?;
        }
        let mut csv = csv::Writer::from_writer(out);
        let mut stmt = self.conn.prepare(table.sql())?;
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let csv_err = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(io) => StoreError::Export(io),
            other => StoreError::Export(std::io::Error::other(format!("{other:?}"))),
        };
        csv.write_record(&names).map_err(csv_err)?;
        let mut rows = stmt.query([])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let mut record = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                record.push(match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => format!("{v:.7}"),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => String::new(),
                });
            }
            csv.write_record(&record).map_err(csv_err)?;
            count += 1;
        }
        csv.flush().map_err(io)?;
        Ok(count)
    }
}
