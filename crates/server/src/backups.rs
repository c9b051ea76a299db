//! Backups an office can do: one on demand (`doorstep-server backup`), and
//! `serve --backup-dir DIR --backup-every 6h --keep 14` taking them on a
//! schedule while it serves, keeping the newest `keep`.
//!
//! Scheduled files are named `doorstep-<UTC time>.db` (a SQLite copy) or
//! `doorstep-<UTC time>.pgdump` (a `pg_dump` of a PostgreSQL database), so
//! their names sort by age; only files of that shape are ever deleted from
//! the folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use doorstep_store::BackupTaken;
use doorstep_store::StoreError;
use doorstep_store::any::AnyStore;

/// Where and how often `serve` takes backups.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The folder (made if missing).
    pub dir: PathBuf,
    /// Time between backups (the first is taken at start-up).
    pub every: Duration,
    /// How many scheduled backups to keep, newest first (at least 1).
    pub keep: usize,
}

const PREFIX: &str = "doorstep-";
const SUFFIXES: [&str; 2] = [".db", ".pgdump"];

/// Takes one scheduled backup into `schedule.dir` and deletes the oldest
/// beyond `keep`.
pub async fn take_scheduled(store: &AnyStore, schedule: &Schedule) -> Result<BackupTaken, StoreError> {
    std::fs::create_dir_all(&schedule.dir)
        .map_err(|e| StoreError::Refused(format!("cannot make {}: {e}", schedule.dir.display())))?;
    let suffix = match store {
        AnyStore::Sqlite(_) => SUFFIXES[0],
        AnyStore::Postgres(_) => SUFFIXES[1],
    };
    let name = format!("{PREFIX}{}{suffix}", Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
    let taken = store.backup(&schedule.dir.join(name)).await?;
    prune(&schedule.dir, schedule.keep.max(1))?;
    Ok(taken)
}

/// The scheduled backups in `dir`, oldest first.
pub fn scheduled_in(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Refused(format!("cannot read {}: {e}", dir.display()))),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(PREFIX)
                    && SUFFIXES
                        .iter()
                        .any(|s| n.ends_with(s) && n.len() > PREFIX.len() + s.len())
            })
        })
        .collect();
    files.sort();
    Ok(files)
}

fn prune(dir: &Path, keep: usize) -> Result<(), StoreError> {
    let files = scheduled_in(dir)?;
    let excess = files.len().saturating_sub(keep);
    for old in &files[..excess] {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "an old backup could not be deleted");
        }
    }
    Ok(())
}

/// Runs the schedule until the process ends: a backup at start-up, then
/// one every `schedule.every`. A failed backup is logged and tried again
/// at the next turn; serving goes on.
pub async fn run(store: AnyStore, schedule: Schedule) {
    let mut ticks = tokio::time::interval(schedule.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match take_scheduled(&store, &schedule).await {
            Ok(t) => tracing::info!(
                file = %t.path.display(),
                bytes = t.bytes,
                server_seq = t.server_seq,
                "backup taken"
            ),
            Err(e) => tracing::error!(error = %e, "backup failed; the next turn tries again"),
        }
    }
}
