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
use doorstep_register::{ExistingHousehold, HouseholdKey, read_register};

pub use doorstep_register::{ImportOptions, ImportReport, RegisterError, RowProblem};

use crate::error::{Result, StoreError};
use crate::queries::VillageRow;
use crate::store::Store;

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself: its encoding, header or rows (see [`RegisterError`]).
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
