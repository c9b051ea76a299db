//! Schema migrations, one mechanism for both stores: numbered SQL files
//! (`migrations/sqlite`, `migrations/postgres`, the same numbers meaning
//! the same change) applied forward-only by refinery, which records each
//! in `doorstep_schema_history` with a checksum. A released file is never
//! edited: refinery refuses a database whose history disagrees with the
//! files, and a database migrated by a newer server is refused before
//! anything is applied.

use refinery_core::{Migration, Runner};

use super::StoreError;

/// The numbered files of one dialect's folder (`migrations/<dialect>`),
/// `(refinery name, SQL)` in order: the one list both stores share, so a
/// new migration is one line here and one file per dialect.
macro_rules! migrations {
    ($dialect:literal) => {
        &[
            (
                "V1__initial",
                include_str!(concat!("../migrations/", $dialect, "/0001_initial.sql")),
            ),
            (
                "V2__pack_version",
                include_str!(concat!("../migrations/", $dialect, "/0002_pack_version.sql")),
            ),
            (
                "V3__report",
                include_str!(concat!("../migrations/", $dialect, "/0003_report.sql")),
            ),
            (
                "V4__dashboard",
                include_str!(concat!("../migrations/", $dialect, "/0004_dashboard.sql")),
            ),
            (
                "V5__device_erase",
                include_str!(concat!("../migrations/", $dialect, "/0005_device_erase.sql")),
            ),
            (
                "V6__epoch",
                include_str!(concat!("../migrations/", $dialect, "/0006_epoch.sql")),
            ),
            (
                "V7__quarantine",
                include_str!(concat!("../migrations/", $dialect, "/0007_quarantine.sql")),
            ),
            (
                "V8__backup",
                include_str!(concat!("../migrations/", $dialect, "/0008_backup.sql")),
            ),
            (
                "V9__relay",
                include_str!(concat!("../migrations/", $dialect, "/0009_relay.sql")),
            ),
        ]
    };
}

/// SQLite's migrations.
pub(crate) const SQLITE: &[(&str, &str)] = migrations!("sqlite");

/// PostgreSQL's migrations, the same numbers in its dialect.
pub(crate) const POSTGRES: &[(&str, &str)] = migrations!("postgres");

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
    StoreError::Migration(crate::with_causes(&e))
}

/// Logs what a run applied.
pub(crate) fn log_applied(report: &refinery_core::Report) {
    for m in report.applied_migrations() {
        tracing::info!(migration = m.name(), version = m.version(), "schema migrated");
    }
}
