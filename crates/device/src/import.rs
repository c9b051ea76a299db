//! Importing a household register from CSV, as commune offices keep them in
//! spreadsheets.
//!
//! The rules (encodings, delimiters, Vietnamese or English headers, row
//! checks, village matching, duplicates) are `doorstep-register`'s, shared
//! with the server's `doorstep-server import households`. This module reads
//! what they need from the store (villages, households already here) and
//! writes the good rows through [`Writer`](crate::Writer) in one
//! transaction: the whole file is checked before anything is written, and a
//! file with errors imports nothing unless the caller asks to skip bad rows.

use doorstep_core::ids::{BadId, HouseholdId, VillageId};
use doorstep_register::{ExistingHousehold, HouseholdKey, RegisterError, read_register};

pub use doorstep_register::{ImportOptions, ImportReport, RowProblem};

use crate::error::{Result, StoreError};
use crate::queries::VillageRow;
use crate::store::Store;

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not UTF-8 text.
    #[error("{0}")]
    Encoding(String),
    /// A header without the columns we need.
    #[error(
        "the header (line 1) has no {missing} column; found: {found}. Expected e.g. \"village\" / \"Thôn\" and \"head of household\" / \"Chủ hộ\""
    )]
    MissingColumns {
        /// Missing columns.
        missing: String,
        /// Columns found.
        found: String,
    },
    /// Empty file.
    #[error("the file is empty")]
    Empty,
    /// Bad rows and no permission to skip them: nothing was imported.
    #[error("{} of {} rows have problems; nothing was imported (fix them, or pass --skip-bad-rows to import the {} good rows)", .0.skipped, .0.rows, .0.rows.saturating_sub(.0.skipped))]
    BadRows(ImportReport),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RegisterError> for ImportError {
    fn from(e: RegisterError) -> ImportError {
        match e {
            RegisterError::Encoding(m) => ImportError::Encoding(m),
            RegisterError::MissingColumns { missing, found } => ImportError::MissingColumns { missing, found },
            RegisterError::Empty => ImportError::Empty,
            RegisterError::BadRows(report) => ImportError::BadRows(report),
        }
    }
}

impl Store {
    /// Imports households from CSV bytes. See the module docs for the rules.
    pub fn import_households(
        &mut self,
        bytes: &[u8],
        options: &ImportOptions,
    ) -> std::result::Result<ImportReport, ImportError> {
        let villages = self
            .villages()?
            .iter()
            .map(VillageRow::known)
            .collect::<Result<Vec<_>>>()?;
        let existing = self.existing_households()?;
        let register = read_register(bytes, &villages, &existing, options, self.now())?;
        let mut report = register.report;
        if options.dry_run {
            return Ok(report);
        }
        self.write(|w| {
            for row in &register.households {
                w.create(&row.household)
                    .map_err(|e| StoreError::Rule(format!("line {}: {e}", row.line)))?;
            }
            Ok(())
        })?;
        report.imported = register.households.len();
        Ok(report)
    }

    /// Households on the register, as duplicate keys.
    fn existing_households(&self) -> Result<Vec<ExistingHousehold>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, village_id, head_name, phone, landmark FROM household WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, village, head, phone, landmark) = row?;
            let stored = |e: BadId| StoreError::Stored(format!("household {id}: {e}"));
            out.push(ExistingHousehold {
                id: id.parse::<HouseholdId>().map_err(stored)?,
                key: HouseholdKey::new(
                    village.parse::<VillageId>().map_err(stored)?,
                    &head,
                    phone.as_deref(),
                    landmark.as_deref(),
                ),
            });
        }
        Ok(out)
    }
}
