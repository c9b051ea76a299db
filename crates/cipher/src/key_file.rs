//! A key file: 64 hexadecimal digits in a file only its owner may read.
//! The tablet's last-resort key store, what scripts name with `--key-file`,
//! and the office's `--db-key-file`.

use std::io::Write;
use std::path::Path;

use crate::key::DbKey;
use crate::migrate::sync_parent;

/// What is wrong with a key file (its path is the caller's to add).
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file is there but holds no key; never says what it holds.
    #[error("it is not a Doorstep key: {0}")]
    NotAKey(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The key in `path`, or `None` if there is no such file.
pub fn load_key_file(path: &Path) -> Result<Option<DbKey>, KeyFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => zeroize::Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(KeyFileError::NotAKey("it is not text".to_owned()));
        }
        Err(e) => return Err(KeyFileError::Io(e)),
    };
    DbKey::from_hex(&text).map(Some).map_err(KeyFileError::NotAKey)
}

/// Writes `key` to a new file at `path` (0600 on Unix), durably: the file
/// and its folder are fsynced. An existing file is never overwritten.
pub fn save_key_file(path: &Path, key: &DbKey) -> Result<(), KeyFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut text = key.to_hex();
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    sync_parent(path)?;
    Ok(())
}

/// Removes the key file, durably; a missing one is fine.
pub fn erase_key_file(path: &Path) -> Result<(), KeyFileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(sync_parent(path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeyFileError::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_key_loads_back_only_its_owner_reads_it_and_it_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("office.db.key");
        assert!(load_key_file(&path).expect("missing is fine").is_none());
        let key = DbKey::generate().expect("random");
        save_key_file(&path, &key).expect("save");
        assert_eq!(load_key_file(&path).expect("load"), Some(key.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(save_key_file(&path, &DbKey::generate().expect("random")).is_err());
        assert_eq!(load_key_file(&path).expect("load"), Some(key));
        erase_key_file(&path).expect("erase");
        erase_key_file(&path).expect("erase again");
        std::fs::write(&path, "not a key").expect("write");
        let err = load_key_file(&path).expect_err("not a key");
        assert!(err.to_string().contains("9 characters"), "{err}");
    }
}
