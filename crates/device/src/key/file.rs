//! A key file: 64 hexadecimal digits in a file only its owner may read.
//!
//! The last resort, where no platform secret store answers, and what
//! scripts name with `--key-file`. A key file beside the database protects
//! a database file copied alone, not a copied folder: `doorstep status`
//! says so.

use std::path::{Path, PathBuf};

use doorstep_cipher::KeyFileError;

use super::{DbKey, KeyError, KeyHolder, KeyStore};

/// A key kept in a file.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// `<db>.key`, beside the database.
    pub fn beside(db: &Path) -> KeyFile {
        let mut name = db.as_os_str().to_owned();
        name.push(".key");
        KeyFile {
            path: PathBuf::from(name),
        }
    }

    /// A file the user named (`--key-file`, `DOORSTEP_DB_KEY_FILE`). A new
    /// database's key is written there if the file does not exist yet.
    pub fn named(path: &Path) -> KeyFile {
        KeyFile { path: path.to_owned() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl KeyStore for KeyFile {
    fn holder(&self) -> KeyHolder {
        KeyHolder::KeyFile
    }

    fn location(&self) -> String {
        format!("key file {}", self.path.display())
    }

    fn load(&self) -> Result<Option<DbKey>, KeyError> {
        doorstep_cipher::load_key_file(&self.path).map_err(|e| self.error(e))
    }

    fn save(&self, key: &DbKey) -> Result<(), KeyError> {
        doorstep_cipher::save_key_file(&self.path, key).map_err(|e| self.error(e))
    }

    fn erase(&self) -> Result<(), KeyError> {
        doorstep_cipher::erase_key_file(&self.path).map_err(|e| self.error(e))
    }
}

impl KeyFile {
    fn error(&self, e: KeyFileError) -> KeyError {
        match e {
            KeyFileError::NotAKey(detail) => KeyError::BadKeyFile {
                path: self.path.clone(),
                detail,
            },
            KeyFileError::Io(source) => KeyError::Io {
                path: self.path.clone(),
                source,
            },
        }
    }
}
