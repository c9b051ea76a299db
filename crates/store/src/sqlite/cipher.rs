//! An encrypted office database (`serve --db office.db --db-key-file KEY`):
//! which key, and moving a plain office file into SQLCipher in place.
//!
//! Optional per office. With a key file named, a new database is made
//! encrypted (and the key file made, 0600, if it is not there yet) and a
//! plain one from before is encrypted in place, losing nothing
//! ([`doorstep_cipher::encrypt_in_place`]). Without one, an encrypted file
//! is refused with a sentence saying so; a plain file opens as always.

use std::path::Path;

use doorstep_cipher::{DbKey, FileKind};
use rusqlite::Connection;

use super::APPLICATION_ID;
use crate::StoreError;

/// The key the database at `path` opens with, or `None` for a plain one;
/// encrypts a plain Doorstep file first when a key file is named. Runs
/// under the start-up lock. Refusals leave the file and the key untouched.
pub(super) fn prepare(path: &Path, existed: bool, key_file: Option<&Path>) -> Result<Option<DbKey>, StoreError> {
    let io = |e: std::io::Error| StoreError::Refused(format!("cannot read {}: {e}", path.display()));
    if existed {
        doorstep_cipher::clear_leftovers(path).map_err(|e| StoreError::Refused(e.to_string()))?;
    }
    let kind = if existed {
        Some(doorstep_cipher::file_kind(path).map_err(io)?)
    } else {
        None
    };
    let Some(key_file) = key_file else {
        if kind == Some(FileKind::Encrypted) {
            return Err(StoreError::Refused(format!(
                "{} is encrypted (or is not a SQLite file); give its key with --db-key-file",
                path.display()
            )));
        }
        return Ok(None);
    };
    // A plain file must be ours before a key is made for it; the same
    // connection then encrypts it.
    let plain = match kind {
        Some(FileKind::Plain) => Some(check_plain(path)?),
        _ => None,
    };
    let key = match (load(key_file)?, kind) {
        (Some(key), _) => key,
        (None, Some(FileKind::Encrypted)) => {
            return Err(StoreError::Refused(format!(
                "{} is encrypted and its key file {} does not exist",
                path.display(),
                key_file.display()
            )));
        }
        (None, _) => {
            let key = DbKey::generate()
                .map_err(|e| StoreError::Refused(format!("no random key for the office database: {e}")))?;
            doorstep_cipher::save_key_file(key_file, &key)
                .map_err(|e| StoreError::Refused(format!("cannot write the key file {}: {e}", key_file.display())))?;
            tracing::info!("made a new key file for the office database");
            key
        }
    };
    if kind == Some(FileKind::Encrypted) {
        check_key(path, &key, key_file)?;
    }
    if let Some(plain) = plain {
        doorstep_cipher::encrypt_in_place(plain, path, &key).map_err(|e| {
            StoreError::Refused(format!(
                "{} could not be encrypted, and is left as it was: {e}",
                path.display()
            ))
        })?;
        tracing::info!("encrypted the office database in place");
    }
    Ok(Some(key))
}

/// Gives `conn` the database's key, if it has one.
pub(super) fn apply(conn: &Connection, key: Option<&DbKey>) -> rusqlite::Result<()> {
    match key {
        Some(key) => key.apply(conn),
        None => Ok(()),
    }
}

/// Says which of a wrong key or a damaged file, for an encrypted database
/// whose first read failed.
pub(super) fn unreadable(path: &Path, key_file: Option<&Path>, e: &rusqlite::Error) -> StoreError {
    match (key_file, e.sqlite_error_code()) {
        (Some(key_file), Some(rusqlite::ErrorCode::NotADatabase)) => StoreError::Refused(format!(
            "{} cannot be read with the key in {}: it was encrypted with another key, or is damaged",
            path.display(),
            key_file.display()
        )),
        _ => StoreError::Refused(format!(
            "{} is damaged or not a SQLite database ({e}); give another --db or restore a backup",
            path.display()
        )),
    }
}

/// Reads the encrypted file's first page with `key`, as an immutable file
/// (no locks, no WAL, no writes): a wrong key leaves every byte of the
/// file and its WAL as it was. (A read-only connection is not enough:
/// SQLite checkpoints a WAL when the last connection closes.)
fn check_key(path: &Path, key: &DbKey, key_file: &Path) -> Result<(), StoreError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let uri = format!("file:{}?immutable=1", uri_path(path));
    let conn = doorstep_cipher::open_keyed_connection(Path::new(&uri), flags, key)
        .map_err(|e| unreadable(path, Some(key_file), &e))?;
    check_ours(&conn, path, Some(key_file))
}

/// Refuses the database open on `conn` unless it is a Doorstep server's
/// (its application id); the first read, so a wrong key shows here.
pub(super) fn check_ours(conn: &Connection, path: &Path, key_file: Option<&Path>) -> Result<(), StoreError> {
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| unreadable(path, key_file, &e))?;
    if app != APPLICATION_ID {
        return Err(StoreError::Refused(format!(
            "{} is not a Doorstep server database; give another --db",
            path.display()
        )));
    }
    Ok(())
}

/// `path` for a `file:` URI: the characters a URI gives meaning to,
/// percent-encoded.
pub(super) fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn load(key_file: &Path) -> Result<Option<DbKey>, StoreError> {
    doorstep_cipher::load_key_file(key_file)
        .map_err(|e| StoreError::Refused(format!("the key file {}: {e}", key_file.display())))
}

/// The key in `key_file`, which must exist (checking or restoring a
/// backup makes no key); `None` without a key file.
pub(super) fn required(key_file: Option<&Path>) -> Result<Option<DbKey>, StoreError> {
    let Some(k) = key_file else { return Ok(None) };
    load(k)?
        .map(Some)
        .ok_or_else(|| StoreError::Refused(format!("the key file {} does not exist", k.display())))
}

/// A connection to a plain file that is a Doorstep server database.
fn check_plain(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| unreadable(path, None, &e))?;
    check_ours(&conn, path, None)?;
    Ok(conn)
}
