//! Schema migrations, one mechanism for both stores: numbered SQL files
//! (`migrations/sqlite`, `migrations/postgres`, the same numbers meaning
//! the same change) applied forward-only by refinery, which records each
//! in `doorstep_schema_history` with a checksum. A released file is never
//! edited: refinery refuses a database whose history disagrees with the
//! files, and a database migrated by a newer server is refused before
//! anything is applied.

use refinery_core::{Migration, Runner};

use super::StoreError;

/// The table refinery keeps the history in.
pub(crate) const HISTORY: &str = "doorstep_schema_history";

/// The runner for a store's files, `(refinery name, SQL)` in order.
pub(crate) fn runner(files: &[(&str, &str)]) -> Result<Runner, StoreError> {
    let migrations = files
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, sql).map_err(migration_error))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runner = Runner::new(&migrations)
        .set_abort_divergent(true)
        .set_abort_missing(true);
    runner.set_migration_table_name(HISTORY);
    Ok(runner)
}

/// Refuses a database that has migrations newer than `known`.
pub(crate) fn refuse_newer(applied: &[Migration], known: usize, place: &str) -> Result<(), StoreError> {
    match applied.iter().map(Migration::version).max() {
        Some(newest) if usize::try_from(newest).unwrap_or(usize::MAX) > known => Err(StoreError::Refused(format!(
            "{place} was written by a newer doorstep-server (schema {newest}, this one knows {known}); update the server"
        ))),
        _ => Ok(()),
    }
}

/// A refinery failure, as a store error, with the database's own reason.
pub(crate) fn migration_error(e: refinery_core::Error) -> StoreError {
    StoreError::Migration(super::postgres::with_causes(&e))
}

/// Logs what a run applied.
pub(crate) fn log_applied(report: &refinery_core::Report) {
    for m in report.applied_migrations() {
        tracing::info!(migration = m.name(), version = m.version(), "schema migrated");
    }
}
