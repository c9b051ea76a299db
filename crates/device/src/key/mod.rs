//! The key of a tablet's database, and where it is kept.
//!
//! Every database `doorstep-device` opens is SQLCipher: AES-256 pages with
//! an HMAC each, under a random 256-bit key made for that database and
//! never typed by anyone. The key lives in a [`KeyStore`]: on Android the
//! Android Keystore (the key itself is kept wrapped by a Keystore AES key
//! that never leaves the secure hardware), on desktop Linux the OS keyring
//! (Secret Service) where a keyring daemon runs, and as a last resort a key
//! file with 0600 permissions beside the database. Which one holds a key is
//! said plainly by [`KeyHolder`] in `doorstep status` and the app's
//! Settings.
//!
//! **Invariant:** the key never appears in logs, `Debug`, exports, error
//! messages or the process list: [`DbKey`] hides itself, is zeroed when
//! dropped, and reaches SQLite only through `PRAGMA key`.

#[cfg(target_os = "android")]
mod android;
mod file;
#[cfg(all(target_os = "linux", not(target_os = "android")))]
mod keyring;

use std::path::{Path, PathBuf};

#[cfg(target_os = "android")]
pub use android::AndroidKeystore;
pub use doorstep_cipher::DbKey;
pub(crate) use doorstep_cipher::sync_parent;
pub use file::KeyFile;
#[cfg(all(target_os = "linux", not(target_os = "android")))]
pub use keyring::Keyring;

/// Which kind of secret store holds a database's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyHolder {
    /// Android's Keystore: the key is wrapped by a Keystore key that never
    /// leaves the tablet's secure hardware.
    AndroidKeystore,
    /// The desktop's keyring (Secret Service), unlocked with the login.
    Keyring,
    /// A file beside the database (0600): protects against nothing but a
    /// copy of the database alone. The last resort.
    KeyFile,
}

impl KeyHolder {
    /// In words, for `doorstep status` and errors.
    pub fn describe(self) -> &'static str {
        match self {
            KeyHolder::AndroidKeystore => "Android Keystore",
            KeyHolder::Keyring => "the OS keyring",
            KeyHolder::KeyFile => "a key file",
        }
    }

    /// The stable code (`android_keystore`, `keyring`, `key_file`).
    pub fn code(self) -> &'static str {
        match self {
            KeyHolder::AndroidKeystore => "android_keystore",
            KeyHolder::Keyring => "keyring",
            KeyHolder::KeyFile => "key_file",
        }
    }
}

/// A place that keeps the key of one database.
pub trait KeyStore: std::fmt::Debug + Send + Sync {
    /// What kind of place it is.
    fn holder(&self) -> KeyHolder;
    /// Where, in words a person can check ("key file /data/field.db.key").
    fn location(&self) -> String;
    /// The key, or `None` when this store holds none for the database.
    fn load(&self) -> Result<Option<DbKey>, KeyError>;
    /// Keeps `key` durably (on disk, in the keyring) before returning.
    fn save(&self, key: &DbKey) -> Result<(), KeyError>;
    /// Forgets the key (erasing a tablet). Forgetting a missing key is fine.
    fn erase(&self) -> Result<(), KeyError>;
}

/// What can go wrong with a key store, naming which and where.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store refused or failed (keyring locked, Keystore error...).
    #[error("{holder} refused the database key: {detail}")]
    Refused {
        /// Which store.
        holder: String,
        /// What it said.
        detail: String,
    },
    /// A key file that is not a key.
    #[error("the key file {path} is not a Doorstep key: {detail}")]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never its content).
        detail: String,
    },
    /// A key file named on the command line that is not there.
    #[error("the key file {path} does not exist (check --key-file or DOORSTEP_DB_KEY_FILE)")]
    MissingKeyFile {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("the key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The key stores to try for a database, best first: the platform's secret
/// store where there is one, then a key file beside the database. An
/// existing key is looked for in each (a database made where no keyring ran
/// keeps its key file); a new key goes to the first that takes it.
#[derive(Debug)]
pub struct KeyChain {
    stores: Vec<Box<dyn KeyStore>>,
}

/// Which stores [`KeyChain::platform`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// The platform's secret store if it answers, else a key file.
    Platform,
    /// Only a key file beside the database (scripts, tests, the CLI's
    /// default).
    KeyFileOnly,
}

impl KeyChain {
    /// One store only (a `--key-file`, a test's).
    pub fn only(store: Box<dyn KeyStore>) -> KeyChain {
        KeyChain { stores: vec![store] }
    }

    /// The key file beside `db` (`<db>.key`).
    pub fn key_file_beside(db: &Path) -> KeyChain {
        KeyChain::only(Box::new(KeyFile::beside(db)))
    }

    /// The stores for `db` on this platform (see [`KeyPolicy`]).
    pub fn platform(db: &Path, policy: KeyPolicy) -> KeyChain {
        let mut stores: Vec<Box<dyn KeyStore>> = Vec::new();
        if policy == KeyPolicy::Platform {
            #[cfg(target_os = "android")]
            stores.push(Box::new(AndroidKeystore::for_database(db)));
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            if let Some(k) = Keyring::for_database(db) {
                stores.push(Box::new(k));
            }
        }
        stores.push(Box::new(KeyFile::beside(db)));
        KeyChain { stores }
    }

    /// The first store that holds a key for the database, with the key.
    pub fn find(&self) -> Result<Option<(DbKey, &dyn KeyStore)>, KeyError> {
        let mut first_error = None;
        for store in &self.stores {
            match store.load() {
                Ok(Some(key)) => return Ok(Some((key, store.as_ref()))),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(holder = store.holder().code(), error = %e, "key store unavailable");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            // Only a store that failed could have held it: say so.
            Some(e) if self.stores.len() == 1 => Err(e),
            _ => Ok(None),
        }
    }

    /// Makes and keeps a new key in the first store that takes it.
    pub fn create(&self) -> Result<(DbKey, &dyn KeyStore), KeyError> {
        let key = DbKey::generate().map_err(|e| KeyError::Refused {
            holder: "the random number generator".to_owned(),
            detail: e.to_string(),
        })?;
        let mut last = None;
        for store in &self.stores {
            match store.save(&key) {
                Ok(()) => return Ok((key, store.as_ref())),
                Err(e) => {
                    tracing::warn!(holder = store.holder().code(), error = %e, "key store refused a new key");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| KeyError::Refused {
            holder: "no key store".to_owned(),
            detail: "none is configured".to_owned(),
        }))
    }

    /// Where a key would be looked for, in words.
    pub fn locations(&self) -> String {
        self.stores.iter().map(|s| s.location()).collect::<Vec<_>>().join(", ")
    }

    /// Forgets the database's key in every store (erasing a tablet).
    pub fn erase(&self) -> Result<(), KeyError> {
        let mut first = None;
        for store in &self.stores {
            if let Err(e) = store.erase() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// A bare SQLite connection to an encrypted store whose key is in the key
/// file beside it: for tests and repairs that read or poke the tables
/// directly, as an operator with the SQLite shell would.
#[doc(hidden)]
pub fn open_raw(db: &Path) -> Result<rusqlite::Connection, crate::StoreError> {
    let key = KeyFile::beside(db).load()?.ok_or_else(|| crate::StoreError::NoKey {
        path: db.to_owned(),
        looked_in: KeyFile::beside(db).location(),
    })?;
    let conn = rusqlite::Connection::open(db).map_err(|e| crate::StoreError::from_sqlite_at(e, db))?;
    key.apply(&conn)?;
    Ok(conn)
}
