//! Backups of a PostgreSQL office database: `pg_dump` of one snapshot,
//! recorded like a SQLite backup so tablets may drop what it holds.
//!
//! The server opens a REPEATABLE READ transaction, exports its snapshot
//! (`pg_export_snapshot`) and reads in it what the copy will hold: the
//! epoch, the newest change and each tablet's last applied seq. `pg_dump
//! --snapshot` then dumps exactly that snapshot while pushes go on, into
//! `<out>.partial`; the file is checked with `pg_restore --list`, fsynced
//! and renamed to `<out>`, and only then is the coverage recorded
//! (`device.backed_up_seq`, the `backup` table). Restore with
//! `pg_restore` (docs/postgres.md); the next start begins a new epoch
//! (`restored.rs`).

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::{PgStore, i64_of, u64_of};
use crate::{BackupTaken, StoreError};

fn refused(detail: String) -> StoreError {
    StoreError::Refused(detail)
}

/// `pg_dump` or `pg_restore`: on the PATH, else the newest one Debian's
/// packages put under /usr/lib/postgresql/<version>/bin.
fn pg_tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(found) = on_path.into_iter().find(|p| p.is_file()) {
        return Some(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((version, e.path().join("bin").join(name)))
                })
                .filter(|(_, p)| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// The last line a tool wrote to stderr (its error), without a URL's
/// password: pg_dump names the host and user, never the password.
fn said(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_owned()
}

impl PgStore {
    /// A consistent copy of the database in `out` (`pg_dump
    /// --format=custom` of one snapshot) while it serves; module docs.
    pub async fn backup(&self, out: &Path) -> Result<BackupTaken, StoreError> {
        if out.exists() {
            return Err(refused(format!("{} already exists; give another --out", out.display())));
        }
        let dump = pg_tool("pg_dump").ok_or_else(|| {
            refused(
                "pg_dump is not installed; install the PostgreSQL client (apt-get install postgresql-client)".into(),
            )
        })?;
        let partial = doorstep_cipher::with_suffix(out, ".partial");
        let _ = std::fs::remove_file(&partial);
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let taken_at = Utc::now();
        let snapshot: String = tx.query_one("SELECT pg_export_snapshot()", &[]).await?.try_get(0)?;
        let epoch: String = tx
            .query_opt("SELECT value FROM server_meta WHERE key = 'epoch'", &[])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or_default();
        let server_seq = u64_of(
            tx.query_one("SELECT coalesce(max(server_seq), 0) FROM change_log", &[])
                .await?
                .try_get(0)?,
        );
        let mut held: Vec<(String, i64)> = Vec::new();
        for r in tx
            .query(
                "SELECT id, last_applied_seq FROM device WHERE commune_id IS NOT NULL",
                &[],
            )
            .await?
        {
            held.push((r.try_get(0)?, r.try_get(1)?));
        }
        let dumped = tokio::process::Command::new(&dump)
            .arg("--format=custom")
            .arg(format!("--snapshot={snapshot}"))
            .arg("--file")
            .arg(&partial)
            .arg("--dbname")
            .arg(&self.url)
            .output()
            .await
            .map_err(|e| refused(format!("cannot run {}: {e}", dump.display())))?;
        // The snapshot is needed only until pg_dump has taken it.
        tx.commit().await?;
        if !dumped.status.success() {
            let _ = std::fs::remove_file(&partial);
            return Err(refused(format!(
                "pg_dump could not back up the database: {}",
                said(&dumped.stderr)
            )));
        }
        check_dump(&partial).await.inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&partial, out))
            .and_then(|()| doorstep_cipher::sync_parent(out))
            .map_err(|e| refused(format!("writing {}: {e}", out.display())))?;
        let taken = BackupTaken {
            path: out.to_owned(),
            bytes: std::fs::metadata(out).map(|m| m.len()).unwrap_or(0),
            taken_at,
            epoch,
            server_seq,
            encrypted: false,
        };
        self.record_backup(&taken, &held).await?;
        Ok(taken)
    }

    /// Records the backup and what it holds of each tablet, in one
    /// transaction.
    async fn record_backup(&self, taken: &BackupTaken, held: &[(String, i64)]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO backup (taken_at, file, bytes, server_seq, epoch) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (taken_at) DO UPDATE SET file = EXCLUDED.file, bytes = EXCLUDED.bytes,
                 server_seq = EXCLUDED.server_seq, epoch = EXCLUDED.epoch",
            &[
                &doorstep_core::schema::format_timestamp(taken.taken_at),
                &taken.path.to_string_lossy().into_owned(),
                &i64_of(taken.bytes),
                &i64_of(taken.server_seq),
                &taken.epoch,
            ],
        )
        .await?;
        let update = tx.prepare("UPDATE device SET backed_up_seq = $2 WHERE id = $1").await?;
        for (device, seq) in held {
            tx.execute(&update, &[device, seq]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A dump `pg_restore` can read whole (its table of contents lists).
async fn check_dump(file: &Path) -> Result<(), StoreError> {
    let Some(restore) = pg_tool("pg_restore") else {
        // pg_dump finished with success; nothing more to check with.
        return Ok(());
    };
    let listed = tokio::process::Command::new(&restore)
        .arg("--list")
        .arg(file)
        .output()
        .await
        .map_err(|e| refused(format!("cannot run {}: {e}", restore.display())))?;
    if !listed.status.success() {
        return Err(refused(format!(
            "the dump {} does not read back: {}",
            file.display(),
            said(&listed.stderr)
        )));
    }
    Ok(())
}
