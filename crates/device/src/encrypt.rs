//! Moving a plain database from an earlier version into SQLCipher, losing
//! nothing.
//!
//! **Invariant:** at every moment the database's path holds one whole
//! database, the old plain one or the new encrypted one, never neither and
//! never a mix. The steps, each safe to cut:
//! 1. the key is kept first (a cut after this finds it and uses it again);
//! 2. the plain file's WAL is checkpointed into it;
//! 3. `sqlcipher_export` writes the encrypted copy to `<db>.encrypting`,
//!    with the schema version, and the plain connection closes (SQLite
//!    removes the emptied WAL);
//! 4. the copy is fsynced, then renamed over the plain file (atomic), and
//!    the folder is fsynced.
//!
//! A `<db>.encrypting` left by a cut is removed at the next open: the plain
//! file beside it is still whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::key::DbKey;
use crate::store::FileKind;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The half-written encrypted copy of `db`.
pub(crate) fn encrypting_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".encrypting");
    PathBuf::from(name)
}

fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes what a migration cut short left beside `db`.
pub(crate) fn clear_leftovers(db: &Path) -> Result<()> {
    let tmp = encrypting_path(db);
    for file in [with_suffix(&tmp, "-journal"), tmp] {
        match std::fs::remove_file(&file) {
            Ok(()) => tracing::info!("removed the copy of an encryption that was cut short"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Stored(format!("removing {}: {e}", file.display()))),
        }
    }
    Ok(())
}

/// Tells a plain SQLite file from an encrypted one by its first bytes.
pub(crate) fn file_kind(db: &Path) -> Result<FileKind> {
    let io = |e: std::io::Error| StoreError::Stored(format!("reading {}: {e}", db.display()));
    let mut file = std::fs::File::open(db).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(FileKind::Empty);
    }
    let mut head = [0u8; 16];
    let read = file.read(&mut head).map_err(io)?;
    if read == 16 && &head == SQLITE_HEADER {
        return Ok(FileKind::Plain);
    }
    // SQLCipher files are whole pages (512 bytes at the least).
    if len < 512 || len % 512 != 0 {
        return Ok(FileKind::NotSqlite);
    }
    Ok(FileKind::Encrypted)
}

/// Encrypts the plain database open on `conn` in place under `key`
/// (module docs). `conn` has passed the checks of a Doorstep file.
pub(crate) fn encrypt_in_place(conn: Connection, db: &Path, key: &DbKey) -> Result<()> {
    let err = |e| StoreError::from_sqlite_at(e, db);
    let tmp = encrypting_path(db);
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(err)?;
    if busy != 0 {
        return Err(StoreError::InUse { path: db.to_owned() });
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
    // The connection may not create files (opening never creates a
    // database); an empty file is a new database to SQLite.
    std::fs::File::create(&tmp).map_err(|e| StoreError::Stored(format!("creating {}: {e}", tmp.display())))?;
    let tmp_sql = tmp.display().to_string().replace('\'', "''");
    let hex = key.to_hex();
    let attach = zeroize::Zeroizing::new(format!(
        "ATTACH DATABASE '{tmp_sql}' AS encrypted KEY \"x'{}'\"",
        hex.as_str()
    ));
    conn.execute_batch(&attach).map_err(err)?;
    let exported = conn
        .execute_batch(&crate::key::cipher_settings(Some("encrypted")))
        .and_then(|()| conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(())))
        .and_then(|()| conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}")))
        .and_then(|()| conn.execute_batch("DETACH DATABASE encrypted"));
    if let Err(e) = exported {
        let _ = conn.execute_batch("DETACH DATABASE encrypted");
        drop(conn);
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    conn.close().map_err(|(_, e)| err(e))?;
    // The plain WAL was emptied and, on this last close, removed; one that
    // is still there with frames in it belongs to another connection, and
    // would be read into the encrypted file: stop before the rename.
    let wal = with_suffix(db, "-wal");
    match std::fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => {
            let _ = std::fs::remove_file(&tmp);
            return Err(StoreError::InUse { path: db.to_owned() });
        }
        Ok(_) => remove(&wal)?,
        Err(_) => {}
    }
    remove(&with_suffix(db, "-shm"))?;
    let io = |e: std::io::Error| StoreError::Stored(format!("encrypting {}: {e}", db.display()));
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, db).map_err(io)?;
    crate::key::sync_parent(db).map_err(io)?;
    tracing::info!("encrypted a database from an earlier version in place");
    Ok(())
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Stored(format!("removing {}: {e}", path.display()))),
    }
}

/// The files a store consists of, its key file aside: the database, its
/// WAL, shared memory and rollback journal.
pub fn database_files(db: &Path) -> [PathBuf; 5] {
    [
        db.to_owned(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
        with_suffix(db, "-journal"),
        encrypting_path(db),
    ]
}
