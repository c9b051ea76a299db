//! Telling a plain file from an encrypted one, and moving a plain database
//! from an earlier version into SQLCipher, losing nothing.
//!
//! **Invariant:** at every moment the database's path holds one whole
//! database, the old plain one or the new encrypted one, never neither and
//! never a mix. The steps, each safe to cut:
//! 1. the caller keeps the key first (a cut after this finds it and uses it
//!    again);
//! 2. the plain file's WAL is checkpointed into it;
//! 3. `sqlcipher_export` writes the encrypted copy to `<db>.encrypting`,
//!    with the schema version and application id, and the plain connection
//!    closes (SQLite removes the emptied WAL);
//! 4. the copy is fsynced, then renamed over the plain file (atomic), and
//!    the folder is fsynced.
//!
//! A `<db>.encrypting` left by a cut is removed at the next open
//! ([`clear_leftovers`]): the plain file beside it is still whole.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::key::{DbKey, cipher_settings};

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What kind of file is at a path, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An unencrypted SQLite file (an earlier version's, or a foreign one).
    Plain,
    /// Pages that look like SQLCipher's: random from the first byte.
    Encrypted,
    /// Zero bytes.
    Empty,
    /// Too short or misshapen to be either.
    NotSqlite,
}

/// Why a plain database could not be encrypted; the plain file is whole.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// Another connection holds the database (its WAL is not empty).
    #[error("the database is in use by another program")]
    InUse,
    /// SQLite refused a step.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A file step failed; says which.
    #[error("{0}")]
    Io(String),
}

/// `db` with `suffix` added to its file name (`-wal`, `.key`...).
pub fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The half-written encrypted copy of `db`.
pub fn encrypting_path(db: &Path) -> PathBuf {
    with_suffix(db, ".encrypting")
}

/// The files a database consists of, its key aside: the database, its WAL,
/// shared memory, rollback journal and an encryption's half-written copy.
pub fn database_files(db: &Path) -> [PathBuf; 5] {
    [
        db.to_owned(),
        with_suffix(db, "-wal"),
        with_suffix(db, "-shm"),
        with_suffix(db, "-journal"),
        encrypting_path(db),
    ]
}

/// Removes what an encryption cut short left beside `db`.
pub fn clear_leftovers(db: &Path) -> Result<(), EncryptError> {
    let tmp = encrypting_path(db);
    for file in [with_suffix(&tmp, "-journal"), tmp] {
        match std::fs::remove_file(&file) {
            Ok(()) => tracing::info!("removed the copy of an encryption that was cut short"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EncryptError::Io(format!("removing {}: {e}", file.display()))),
        }
    }
    Ok(())
}

/// Tells a plain SQLite file from an encrypted one by its first bytes.
pub fn file_kind(db: &Path) -> std::io::Result<FileKind> {
    let mut file = std::fs::File::open(db)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(FileKind::Empty);
    }
    let mut head = [0u8; 16];
    let read = file.read(&mut head)?;
    if read == 16 && &head == SQLITE_HEADER {
        return Ok(FileKind::Plain);
    }
    // SQLCipher files are whole pages (512 bytes at the least).
    if len < 512 || len % 512 != 0 {
        return Ok(FileKind::NotSqlite);
    }
    Ok(FileKind::Encrypted)
}

/// Opens `db` with `flags` and gives the connection `key`. SQLite reads
/// nothing until the first statement; the caller's first query tells a
/// wrong key (`NotADatabase`).
pub fn open_keyed_connection(db: &Path, flags: OpenFlags, key: &DbKey) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(db, flags)?;
    key.apply(&conn)?;
    Ok(conn)
}

/// Encrypts the plain database open on `conn` in place under `key`
/// (module docs). `conn` has passed the caller's checks of its file; the
/// caller has kept `key` durably.
pub fn encrypt_in_place(conn: Connection, db: &Path, key: &DbKey) -> Result<(), EncryptError> {
    let tmp = encrypting_path(db);
    let (busy, _, _): (i64, i64, i64) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    if busy != 0 {
        return Err(EncryptError::InUse);
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let application: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    // The connection may not create files (opening never creates a
    // database); an empty file is a new database to SQLite.
    std::fs::File::create(&tmp).map_err(|e| EncryptError::Io(format!("creating {}: {e}", tmp.display())))?;
    crate::sqlcipher_ready();
    let tmp_sql = tmp.display().to_string().replace('\'', "''");
    let hex = key.to_hex();
    let attach = zeroize::Zeroizing::new(format!(
        "ATTACH DATABASE '{tmp_sql}' AS encrypted KEY \"x'{}'\"",
        hex.as_str()
    ));
    conn.execute_batch(&attach)?;
    let exported = conn
        .execute_batch(&cipher_settings(Some("encrypted")))
        .and_then(|()| conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(())))
        .and_then(|()| {
            conn.execute_batch(&format!(
                "PRAGMA encrypted.user_version = {version}; PRAGMA encrypted.application_id = {application};"
            ))
        })
        .and_then(|()| conn.execute_batch("DETACH DATABASE encrypted"));
    if let Err(e) = exported {
        let _ = conn.execute_batch("DETACH DATABASE encrypted");
        drop(conn);
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    conn.close().map_err(|(_, e)| e)?;
    // The plain WAL was emptied and, on this last close, removed; one that
    // is still there with frames in it belongs to another connection, and
    // would be read into the encrypted file: stop before the rename.
    let wal = with_suffix(db, "-wal");
    match std::fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => {
            let _ = std::fs::remove_file(&tmp);
            return Err(EncryptError::InUse);
        }
        Ok(_) => remove(&wal)?,
        Err(_) => {}
    }
    remove(&with_suffix(db, "-shm"))?;
    let io = |e: std::io::Error| EncryptError::Io(format!("encrypting {}: {e}", db.display()));
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, db).map_err(io)?;
    sync_parent(db).map_err(io)?;
    tracing::info!("encrypted a database from an earlier version in place");
    Ok(())
}

fn remove(path: &Path) -> Result<(), EncryptError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EncryptError::Io(format!("removing {}: {e}", path.display()))),
    }
}

/// Makes a rename or a new file in `path`'s folder durable.
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_file_is_encrypted_in_place_with_its_versions_and_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("office.db");
        let conn = Connection::open(&db).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA user_version = 7; PRAGMA application_id = 42;
             CREATE TABLE person (name TEXT); INSERT INTO person VALUES ('Lò Thị Mai');",
        )
        .expect("fill");
        assert_eq!(file_kind(&db).expect("kind"), FileKind::Plain);
        let key = DbKey::generate().expect("random");
        encrypt_in_place(conn, &db, &key).expect("encrypt");
        assert_eq!(file_kind(&db).expect("kind"), FileKind::Encrypted);
        assert!(!encrypting_path(&db).exists());
        let raw = std::fs::read(&db).expect("read");
        assert!(!raw.windows(3).any(|w| w == b"Mai"), "a name is readable in the file");
        let conn = open_keyed_connection(&db, OpenFlags::SQLITE_OPEN_READ_ONLY, &key).expect("open");
        let (name, version, app): (String, i64, i64) = conn
            .query_row(
                "SELECT name, (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id) FROM person",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("read back");
        assert_eq!((name.as_str(), version, app), ("Lò Thị Mai", 7, 42));
        let other = DbKey::generate().expect("random");
        let wrong = open_keyed_connection(&db, OpenFlags::SQLITE_OPEN_READ_ONLY, &other).expect("open");
        let err = wrong
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .expect_err("wrong key");
        assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase));
    }

    #[test]
    fn kinds_of_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").expect("write");
        assert_eq!(file_kind(&empty).expect("kind"), FileKind::Empty);
        let text = dir.path().join("text");
        std::fs::write(&text, b"household,name\n").expect("write");
        assert_eq!(file_kind(&text).expect("kind"), FileKind::NotSqlite);
        assert!(file_kind(&dir.path().join("missing")).is_err());
    }
}
