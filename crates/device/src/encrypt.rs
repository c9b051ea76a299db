//! Moving a plain database from an earlier version into SQLCipher, losing
//! nothing: [`doorstep_cipher::encrypt_in_place`] (its invariant: the path
//! holds one whole database at every moment, plain or encrypted), with the
//! store's errors.
//!
//! A `<db>.encrypting` left by a cut is removed at the next open: the plain
//! file beside it is still whole.

use std::path::Path;

use doorstep_cipher::{EncryptError, FileKind};
use rusqlite::Connection;

pub use doorstep_cipher::database_files;

use crate::error::{Result, StoreError};
use crate::key::DbKey;

fn store_error(e: EncryptError, db: &Path) -> StoreError {
    match e {
        EncryptError::InUse => StoreError::InUse { path: db.to_owned() },
        EncryptError::Sqlite(e) => StoreError::from_sqlite_at(e, db),
        EncryptError::Io(detail) => StoreError::Stored(detail),
    }
}

/// Removes what a migration cut short left beside `db`.
pub(crate) fn clear_leftovers(db: &Path) -> Result<()> {
    doorstep_cipher::clear_leftovers(db).map_err(|e| store_error(e, db))
}

/// Tells a plain SQLite file from an encrypted one by its first bytes.
pub(crate) fn file_kind(db: &Path) -> Result<FileKind> {
    doorstep_cipher::file_kind(db).map_err(|e| StoreError::Stored(format!("reading {}: {e}", db.display())))
}

/// Encrypts the plain database open on `conn` in place under `key`.
/// `conn` has passed the checks of a Doorstep file; the key is kept.
pub(crate) fn encrypt_in_place(conn: Connection, db: &Path, key: &DbKey) -> Result<()> {
    doorstep_cipher::encrypt_in_place(conn, db, key).map_err(|e| store_error(e, db))
}
