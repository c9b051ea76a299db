//! Reading a SQLite office database for `doorstep-server doctor`, without
//! changing it: read-only, no migration, no file made when it is missing,
//! safe while a server runs on it (the WAL's newest pages are read too).

use std::path::Path;

use doorstep_core::hlc::Hlc;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{MIGRATIONS, cipher};
use crate::health::DatabaseHealth;
use crate::{StoreError, schema};

/// Files larger than this get `quick_check` (minutes less on an old PC);
/// smaller ones the full `integrity_check`.
const QUICK_CHECK_FROM_BYTES: u64 = 2 << 30;

/// How many problems are kept: the first already says the file is damaged.
const MAX_PROBLEMS: u32 = 5;

/// Reads the health of the database at `path` (encrypted under the key in
/// `key_file`, if named). A missing, foreign, encrypted-without-key or
/// unreadable file is refused with a sentence saying so.
pub(super) fn inspect(path: &Path, key_file: Option<&Path>) -> Result<DatabaseHealth, StoreError> {
    let size = match std::fs::metadata(path) {
        Ok(m) if m.len() > 0 => m.len(),
        Ok(_) => {
            return Err(StoreError::Refused(format!(
                "{} is empty: not a database",
                path.display()
            )));
        }
        Err(e) => {
            return Err(StoreError::Refused(format!(
                "there is no database at {} ({e}); check --db",
                path.display()
            )));
        }
    };
    let key = cipher::required(key_file)?;
    if key.is_none() {
        let kind = doorstep_cipher::file_kind(path)
            .map_err(|e| StoreError::Refused(format!("cannot read {}: {e}", path.display())))?;
        if kind == doorstep_cipher::FileKind::Encrypted {
            return Err(StoreError::Refused(format!(
                "{} is encrypted (or is not a SQLite file); give its key with --db-key-file",
                path.display()
            )));
        }
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| cipher::unreadable(path, key_file, &e))?;
    cipher::apply(&conn, key.as_ref())?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    cipher::check_ours(&conn, path, key_file)?;
    let damaged = |e: rusqlite::Error| cipher::unreadable(path, key_file, &e);
    let checked_with = if size >= QUICK_CHECK_FROM_BYTES {
        "quick_check"
    } else {
        "integrity_check"
    };
    let problems: Vec<String> = {
        let mut stmt = conn
            .prepare(&format!("PRAGMA {checked_with}({MAX_PROBLEMS})"))
            .map_err(damaged)?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(damaged)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(damaged)?
    };
    let problems = if problems == ["ok"] { Vec::new() } else { problems };
    if !problems.is_empty() {
        // Reading on could fail anywhere; what is known is enough.
        return Ok(DatabaseHealth {
            problems,
            checked_with,
            schema: None,
            known_schema: MIGRATIONS.len(),
            newest_stamp: None,
            changes: 0,
            recorded_backup: None,
        });
    }
    let has_history: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [schema::HISTORY],
            |r| r.get(0),
        )
        .map_err(damaged)?;
    let schema = if has_history {
        conn.query_row(&format!("SELECT max(version) FROM {}", schema::HISTORY), [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .map_err(damaged)?
    } else {
        None
    };
    let meta = |key: &str| -> Result<Option<String>, StoreError> {
        let has_meta: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'server_meta'",
                [],
                |r| r.get(0),
            )
            .map_err(damaged)?;
        if !has_meta {
            return Ok(None);
        }
        conn.query_row("SELECT value FROM server_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(damaged)
    };
    let newest_stamp = meta("hlc_last")?
        .and_then(|t| t.parse::<Hlc>().ok())
        .filter(|h| *h != Hlc::ZERO);
    let changes: i64 = if schema.is_some() {
        conn.query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))
            .map_err(damaged)?
    } else {
        0
    };
    Ok(DatabaseHealth {
        problems,
        checked_with,
        schema,
        known_schema: MIGRATIONS.len(),
        newest_stamp,
        changes: u64::try_from(changes).unwrap_or(0),
        // A schema from before backups were recorded has no such table.
        recorded_backup: conn
            .query_row(
                "SELECT file, taken_at FROM backup ORDER BY taken_at DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok(),
    })
}
