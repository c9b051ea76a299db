//! The desktop's keyring: the Secret Service over the session's D-Bus
//! (GNOME Keyring, KWallet), unlocked with the user's login.
//!
//! Used only where a session bus is announced (`DBUS_SESSION_BUS_ADDRESS`),
//! so a server or a CI machine falls through to a key file at once instead
//! of waiting on a bus that is not there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use super::{DbKey, KeyError, KeyHolder, KeyStore};

const SERVICE: &str = "doorstep";

/// The key of one database in the OS keyring, under service `doorstep` and
/// the database's absolute path.
#[derive(Debug, Clone)]
pub struct Keyring {
    account: String,
}

impl Keyring {
    /// The keyring entry for `db`, or `None` where no session bus runs.
    pub fn for_database(db: &Path) -> Option<Keyring> {
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|v| !v.is_empty())?;
        Some(Keyring {
            account: absolute(db).display().to_string(),
        })
    }

    fn entry(&self) -> Result<Entry, KeyError> {
        let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new().map_err(refused)?;
        Entry::new_in_store(&store, SERVICE, &self.account).map_err(refused)
    }
}

fn absolute(db: &Path) -> PathBuf {
    let name = db.file_name().map(PathBuf::from).unwrap_or_default();
    match db.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => std::fs::canonicalize(dir).map_or_else(|_| db.to_owned(), |d| d.join(name)),
        None => std::env::current_dir().map_or_else(|_| db.to_owned(), |d| d.join(name)),
    }
}

fn refused(e: keyring_core::Error) -> KeyError {
    use keyring_core::Error as E;
    // Never the secret: some variants carry the stored bytes.
    let detail = match e {
        E::BadEncoding(_) | E::BadDataFormat(..) => "the stored entry is not a Doorstep key".to_owned(),
        E::NoStorageAccess(p) => format!("the keyring is locked or not reachable ({p})"),
        other => other.to_string(),
    };
    KeyError::Refused {
        holder: KeyHolder::Keyring.describe().to_owned(),
        detail,
    }
}

impl KeyStore for Keyring {
    fn holder(&self) -> KeyHolder {
        KeyHolder::Keyring
    }

    fn location(&self) -> String {
        format!("OS keyring, service {SERVICE}, account {}", self.account)
    }

    fn load(&self) -> Result<Option<DbKey>, KeyError> {
        match self.entry()?.get_secret() {
            Ok(raw) => {
                let raw = zeroize::Zeroizing::new(raw);
                DbKey::from_bytes(&raw).map(Some).ok_or_else(|| KeyError::Refused {
                    holder: KeyHolder::Keyring.describe().to_owned(),
                    detail: "the stored entry is not a Doorstep key".to_owned(),
                })
            }
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(refused(e)),
        }
    }

    fn save(&self, key: &DbKey) -> Result<(), KeyError> {
        self.entry()?.set_secret(key.bytes()).map_err(refused)
    }

    fn erase(&self) -> Result<(), KeyError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(refused(e)),
        }
    }
}
