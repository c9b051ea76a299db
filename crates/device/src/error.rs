//! What can go wrong in the device store, in words a volunteer or a team
//! lead can act on.

use std::path::PathBuf;

use doorstep_core::change::ChangeProblems;
use doorstep_core::schema::EntityKind;
use doorstep_core::text::BadText;
use doorstep_core::vocab::UnknownCode;

/// An error from the device store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No database at the path (and we were not asked to create one).
    #[error("no Doorstep database at {path}: run `doorstep init --db {path}` first")]
    NoDatabase {
        /// Where we looked.
        path: PathBuf,
    },
    /// `init` on a path that already holds a database.
    #[error("{path} already holds a Doorstep database; choose another path or remove it first")]
    AlreadyExists {
        /// The path.
        path: PathBuf,
    },
    /// The file is not an SQLite database, or is damaged.
    #[error("{path} is not a readable Doorstep database ({detail}); restore it from a backup or sync a fresh copy")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// An SQLite database that Doorstep did not create.
    #[error("{path} is an SQLite database but not a Doorstep one (it has no device state)")]
    NotDoorstep {
        /// The file.
        path: PathBuf,
    },
    /// An encrypted file (or one too damaged to tell) with no key for it.
    #[error(
        "{path} is not a readable Doorstep database without its key, and no key for it was found ({looked_in}): it is encrypted and its key was deleted, or it was copied from another tablet, or it is damaged"
    )]
    NoKey {
        /// The file.
        path: PathBuf,
        /// Where the key was looked for.
        looked_in: String,
    },
    /// The key found does not open the file.
    #[error(
        "{path} cannot be opened with the key from {location}: it is the wrong key, or the file was encrypted with another tablet's key (or is damaged)"
    )]
    WrongKey {
        /// The file.
        path: PathBuf,
        /// Where the key came from.
        location: String,
    },
    /// The key store failed or refused.
    #[error(transparent)]
    Key(#[from] crate::key::KeyError),
    /// Another process has the database open while it must be alone.
    #[error("{path} is in use by another program; close it and try again")]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer Doorstep.
    #[error(
        "{path} was written by a newer Doorstep (database schema {found}, this app knows up to {known}); update the app"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Schema version in the file.
        found: usize,
        /// Newest schema this build knows.
        known: usize,
    },
    /// A value that breaks its field's rule.
    #[error(transparent)]
    BadValue(#[from] BadText),
    /// A code outside its vocabulary.
    #[error(transparent)]
    BadCode(#[from] UnknownCode),
    /// A change record that breaks the schema.
    #[error("invalid change: {0}")]
    InvalidChange(#[from] ChangeProblems),
    /// Something referred to is not in this store.
    #[error("no {kind} with id {id} on this device")]
    NotFound {
        /// What was looked for.
        kind: EntityKind,
        /// Its id (or the name given).
        id: String,
    },
    /// Looked up by name and not found.
    #[error("no {what} named {name:?}{}", if .known.is_empty() { String::new() } else { format!(" (known: {})", .known.join(", ")) })]
    UnknownName {
        /// "village", "commune".
        what: &'static str,
        /// The name given.
        name: String,
        /// Names that exist.
        known: Vec<String>,
    },
    /// Looked up by name and several match.
    #[error("{count} {what}s are named {name:?}; give the commune too, or use the id")]
    AmbiguousName {
        /// "village".
        what: &'static str,
        /// The name given.
        name: String,
        /// How many match.
        count: usize,
    },
    /// A request that breaks a rule of the domain (not of one field).
    #[error("{0}")]
    Rule(String),
    /// A pack problem.
    #[error("checklist pack: {0}")]
    Pack(String),
    /// Writing an export failed (disk full, pipe closed, ...).
    #[error("cannot write the export: {0}")]
    Export(#[source] std::io::Error),
    /// SQLite failed for another reason (disk full, locked, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored record could not be read back (should not happen).
    #[error("stored data could not be read: {0}")]
    Stored(String),
}

/// Result type of the device store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Turns SQLite's "not a database" and "malformed" into [`StoreError::Corrupt`].
    pub(crate) fn from_sqlite_at(err: rusqlite::Error, path: &std::path::Path) -> StoreError {
        use rusqlite::ErrorCode;
        match err.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path: path.to_owned(),
                detail: err.to_string(),
            },
            _ => StoreError::Sqlite(err),
        }
    }
}
