//! A key file: 64 hexadecimal digits in a file only its owner may read.
//!
//! The last resort, where no platform secret store answers, and what
//! scripts name with `--key-file`. A key file beside the database protects
//! a database file copied alone, not a copied folder: `doorstep status`
//! says so.

use std::io::Write;
use std::path::{Path, PathBuf};

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
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(KeyError::BadKeyFile {
                    path: self.path.clone(),
                    detail: "it is not text".to_owned(),
                });
            }
            Err(source) => {
                return Err(KeyError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        DbKey::from_hex(&text).map(Some).map_err(|detail| KeyError::BadKeyFile {
            path: self.path.clone(),
            detail,
        })
    }

    fn save(&self, key: &DbKey) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: self.path.clone(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path).map_err(io)?;
        let mut text = key.to_hex();
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        sync_parent(&self.path).map_err(io)?;
        Ok(())
    }

    fn erase(&self) -> Result<(), KeyError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => sync_parent(&self.path).map_err(|source| KeyError::Io {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(KeyError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Makes a rename or a new file in `path`'s folder durable.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
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
