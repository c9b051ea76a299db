//! Android Keystore, through `android-native-keyring-store`.
//!
//! The database key is kept in the app's private SharedPreferences,
//! encrypted with AES-GCM under a Keystore key that is generated inside the
//! Keystore and never leaves it (on most tablets, secure hardware): a
//! wrapped key. Copying the app's files off the tablet gives the database
//! and the wrapped key, never the key that unwraps it.
//!
//! It needs the app's JNI context, which Tauri's Android entry point hands
//! to `ndk-context` before any command runs. This file is type-checked in
//! CI (`cargo check --target aarch64-linux-android`); it runs only on a
//! device (README, "Android").

use std::path::Path;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use super::{DbKey, KeyError, KeyHolder, KeyStore};

const SERVICE: &str = "doorstep";

/// The key of one database (by file name: the app's data folder is its own).
#[derive(Debug, Clone)]
pub struct AndroidKeystore {
    account: String,
}

impl AndroidKeystore {
    /// The Keystore-wrapped entry for `db`.
    pub fn for_database(db: &Path) -> AndroidKeystore {
        AndroidKeystore {
            account: db
                .file_name()
                .map_or_else(|| db.display().to_string(), |n| n.to_string_lossy().into_owned()),
        }
    }

    fn entry(&self) -> Result<Entry, KeyError> {
        let store: Arc<CredentialStore> = android_native_keyring_store::Store::new().map_err(refused)?;
        Entry::new_in_store(&store, SERVICE, &self.account).map_err(refused)
    }
}

fn refused(e: keyring_core::Error) -> KeyError {
    use keyring_core::Error as E;
    let detail = match e {
        E::BadEncoding(_) | E::BadDataFormat(..) => "the stored entry is not a Doorstep key".to_owned(),
        other => other.to_string(),
    };
    KeyError::Refused {
        holder: KeyHolder::AndroidKeystore.describe().to_owned(),
        detail,
    }
}

impl KeyStore for AndroidKeystore {
    fn holder(&self) -> KeyHolder {
        KeyHolder::AndroidKeystore
    }

    fn location(&self) -> String {
        format!("Android Keystore, entry {SERVICE}/{}", self.account)
    }

    fn load(&self) -> Result<Option<DbKey>, KeyError> {
        match self.entry()?.get_secret() {
            Ok(raw) => {
                let raw = zeroize::Zeroizing::new(raw);
                DbKey::from_bytes(&raw).map(Some).ok_or_else(|| KeyError::Refused {
                    holder: KeyHolder::AndroidKeystore.describe().to_owned(),
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
