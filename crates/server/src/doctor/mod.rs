//! `doorstep-server doctor`: a health check an office lead can run and
//! read. Each check is data - a [`Check`] with its name, an [`Outcome`]
//! and, when it is not OK, what to do in plain words - so the command
//! prints them, `--json` serialises them, and tests compare them.
//!
//! The checks: the database opens and reads back whole, its schema is the
//! one this build expects; free space on the disks holding the database
//! and the backups; how old the newest backup is; and the computer's clock
//! against the newest stamp in the database. Nothing is written, and no
//! network is used except the configured database.
//!
//! Exit code of the command ([`exit_code`]): 0 when nothing failed (OK or
//! WARN only), 2 when any check failed.

mod backup;
mod clock;
mod database;
mod disk;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use backup::{NewestBackup, backup_check, newest_backup};
pub use clock::clock_check;
pub use database::{database_checks, unopened};
pub use disk::{FAIL_BELOW, Space, WARN_BELOW, disk_check, free_space};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// Nothing to do.
    Ok,
    /// Works today; see to it soon.
    Warn,
    /// Something is wrong now.
    Fail,
}

impl Outcome {
    /// `OK`, `WARN` or `FAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `database`, `schema`, `disk`, `backup`, `clock`.
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// What was found, one sentence.
    pub finding: String,
    /// What to do, for anything not OK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl Check {
    fn ok(name: &'static str, finding: impl Into<String>) -> Check {
        Check {
            name,
            outcome: Outcome::Ok,
            finding: finding.into(),
            advice: None,
        }
    }

    fn not_ok(name: &'static str, outcome: Outcome, finding: impl Into<String>, advice: impl Into<String>) -> Check {
        Check {
            name,
            outcome,
            finding: finding.into(),
            advice: Some(advice.into()),
        }
    }

    /// The printed line: outcome, name, finding and, if any, the advice.
    pub fn line(&self) -> String {
        let head = format!("{:<4}  {:<8}  {}", self.outcome.as_str(), self.name, self.finding);
        match &self.advice {
            Some(advice) => format!("{head}. {advice}"),
            None => head,
        }
    }
}

/// The command's exit code for these checks: 2 if any failed, else 0.
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.outcome == Outcome::Fail) {
        2
    } else {
        0
    }
}

/// A duration rounded to what a person reads: minutes, hours or days.
fn round_age(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    match mins {
        0..=1 => "a minute".to_owned(),
        2..=119 => format!("{mins} minutes"),
        120..=2879 => format!("{} hours", mins / 60),
        _ => format!("{} days", mins / 1440),
    }
}

/// What `doctor` is asked to look at.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `--db` value: a SQLite path or a PostgreSQL URL.
    pub db: String,
    /// The SQLite database's key file, if it is encrypted.
    pub key_file: Option<PathBuf>,
    /// The folder the server backs up into.
    pub backup_dir: Option<PathBuf>,
    /// The server's backup schedule, if known: a backup older than twice
    /// it is late (else older than a day).
    pub backup_every: Option<Duration>,
}

/// A day: how old a backup may be when the schedule is not given.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Runs every check, in the order printed. Changes nothing; a SQLite
/// database is read, never made or migrated.
pub async fn run(request: &Request, now: DateTime<Utc>) -> Vec<Check> {
    use doorstep_store::postgres::PgStore;
    use doorstep_store::sqlite::SqliteStore;

    let mut checks = Vec::new();
    let sqlite = doorstep_store::any::sqlite_path(&request.db);
    let health = match &sqlite {
        Some(path) => {
            let (path, key) = (path.clone(), request.key_file.clone());
            tokio::task::spawn_blocking(move || SqliteStore::health(&path, key.as_deref()))
                .await
                .unwrap_or_else(|e| Err(doorstep_store::StoreError::Task(e.to_string())))
        }
        None => match PgStore::open(&request.db).await {
            Ok(store) => store.health().await,
            Err(e) => Err(e),
        },
    };
    let place = match &sqlite {
        Some(path) => path.display().to_string(),
        None => "the PostgreSQL database".to_owned(),
    };
    let recorded = health.as_ref().ok().and_then(|h| h.recorded_backup.clone());
    let stamp = match &health {
        Ok(h) => {
            checks.extend(database_checks(&place, h));
            h.newest_stamp
        }
        Err(e) => {
            checks.push(unopened(&e.to_string()));
            None
        }
    };
    if let Some(path) = &sqlite {
        checks.push(disk_check("the database", path, free_space(path)));
    }
    if let Some(dir) = &request.backup_dir {
        checks.push(disk_check("the backups", dir, free_space(dir)));
    }
    if health.is_ok() || request.backup_dir.is_some() {
        let check_file = |path: &Path| {
            sqlite
                .as_ref()
                .filter(|_| path.is_file())
                .and_then(|_| SqliteStore::check_backup(path, request.key_file.as_deref()).err())
                .map(|e| e.to_string())
        };
        let found = match &request.backup_dir {
            Some(dir) => newest_backup(dir).map(|newest| {
                newest.map(|(path, taken_at)| {
                    let broken = check_file(&path);
                    NewestBackup { path, taken_at, broken }
                })
            }),
            // The database's own record of the backups taken.
            None => Ok(recorded.and_then(|(file, taken_at)| {
                let taken_at = doorstep_core::schema::parse_timestamp(&taken_at).ok()?;
                let path = PathBuf::from(file);
                let broken = check_file(&path);
                Some(NewestBackup { path, taken_at, broken })
            })),
        };
        let max_age = request.backup_every.map_or(DAY, |every| every.saturating_mul(2));
        checks.push(backup_check(request.backup_dir.as_deref(), found, max_age, now));
    }
    if health.is_ok() {
        checks.push(clock_check(now, stamp));
    }
    checks
}
