//! What `doorstep-server doctor` reads from a database: whether it reads
//! back whole, its schema, and its clock. Each store fills it in its own
//! way (`sqlite::health`, `postgres::health`); `crate::doctor` judges it.

use doorstep_core::hlc::Hlc;

/// A database's state, as read for the health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseHealth {
    /// The problems SQLite's `PRAGMA integrity_check` (or `quick_check`
    /// on a large file) names, none when the file is whole; on PostgreSQL
    /// always none (a simple query answered).
    pub problems: Vec<String>,
    /// Which check ran: `integrity_check`, `quick_check` or `a query`.
    pub checked_with: &'static str,
    /// The newest migration applied (`None`: none yet).
    pub schema: Option<i64>,
    /// The newest migration this build knows.
    pub known_schema: usize,
    /// The server's hybrid logical clock as last saved: the newest stamp
    /// it gave or took (`None`: it never stamped anything).
    pub newest_stamp: Option<Hlc>,
    /// Changes in the log.
    pub changes: u64,
    /// The newest completed backup the database recorded (`doorstep-server
    /// backup`, `serve --backup-dir`): its file and when it began, in the
    /// stored timestamp form.
    pub recorded_backup: Option<(String, String)>,
}
