//! `restore FILE`: checks the backup, then (unless `--check`) puts it in
//! the place of `--db` with every server on it stopped.

use std::path::Path;

use doorstep_store::sqlite::SqliteStore;

use super::shared::{Failure, json, out};
use crate::cli::Cli;

/// Runs before any store is opened: there may be no database yet.
pub(crate) fn run(cli: &Cli, file: &Path, check: bool) -> Result<(), Failure> {
    let Some(db) = doorstep_store::any::sqlite_path(&cli.db) else {
        return Err(Failure::Input(
            "restore puts a backup in place of a SQLite database; restore PostgreSQL with pg_restore (docs/postgres.md)"
                .to_owned(),
        ));
    };
    let key_file = cli.db_key_file.as_deref();
    if check {
        let (epoch, seq) = SqliteStore::check_backup(file, key_file)?;
        if cli.json {
            return json(&serde_json::json!({ "file": file, "epoch": epoch, "server_seq": seq, "ok": true }));
        }
        return out(&format!(
            "{} is a whole backup: changes up to {seq}, epoch {epoch}",
            file.display()
        ));
    }
    let restored = SqliteStore::restore(&db, file, key_file)?;
    if cli.json {
        return json(&restored);
    }
    out(&format!(
        "restored {} into {}: changes up to {}; new epoch {} (was {}){}",
        restored.from.display(),
        db.display(),
        restored.server_seq,
        restored.new_epoch,
        restored.old_epoch,
        match &restored.replaced_kept_at {
            Some(p) => format!("; the database it replaced is kept as {}", p.display()),
            None => String::new(),
        }
    ))
}
