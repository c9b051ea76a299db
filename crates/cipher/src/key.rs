//! The key of one database, shown nowhere.

use std::sync::Once;

use rusqlite::Connection;
use zeroize::Zeroizing;

/// A database key: 32 random bytes, zeroed when dropped.
#[derive(Clone)]
pub struct DbKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(hidden)")
    }
}

impl PartialEq for DbKey {
    fn eq(&self, other: &DbKey) -> bool {
        // Not constant-time; keys are never compared with guesses.
        self.0[..] == other.0[..]
    }
}

impl DbKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<DbKey, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..])?;
        Ok(DbKey(bytes))
    }

    /// Reads a key written as 64 hexadecimal digits (surrounding white
    /// space ignored). The error says what is wrong, never the text.
    pub fn from_hex(text: &str) -> Result<DbKey, String> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(format!(
                "it holds {} characters, not the 64 hexadecimal digits of a key",
                text.len()
            ));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => bytes[i] = (hi * 16 + lo) as u8,
                _ => return Err("it holds characters that are not hexadecimal digits".to_owned()),
            }
        }
        Ok(DbKey(bytes))
    }

    /// The key as 64 lower-case hexadecimal digits (zeroed when dropped).
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64));
        for b in self.0.iter() {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        out
    }

    /// The raw bytes, for a key store that wraps them (Android Keystore,
    /// the keyring).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From raw bytes a key store kept; `None` unless there are 32.
    pub fn from_bytes(raw: &[u8]) -> Option<DbKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if raw.len() != 32 {
            return None;
        }
        bytes.copy_from_slice(raw);
        Some(DbKey(bytes))
    }

    /// Gives `conn`, just opened, this key: its first statement, before
    /// anything is read. Waits, once per process, until SQLCipher has
    /// finished starting ([`sqlcipher_ready`]).
    pub fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        sqlcipher_ready();
        conn.execute_batch(&self.pragma(None))
    }

    /// The `PRAGMA key` statement for a raw key (no passphrase derivation:
    /// the key is already random, and opening stays fast), followed by the
    /// page format's settings, which SQLCipher does not store in the file
    /// and which must come before the first read. SQLCipher's own log
    /// (stderr or logcat: "hmac check failed for pgno=1") is turned off:
    /// a wrong key or a damaged page reaches the caller as an error, and
    /// is said there in one sentence naming the file.
    pub(crate) fn pragma(&self, schema: Option<&str>) -> Zeroizing<String> {
        let hex = self.to_hex();
        Zeroizing::new(match schema {
            Some(s) => format!(
                "PRAGMA cipher_log_level = NONE; PRAGMA {s}.key = \"x'{}'\"; {}",
                hex.as_str(),
                cipher_settings(Some(s))
            ),
            None => format!(
                "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\"; {}",
                hex.as_str(),
                cipher_settings(None)
            ),
        })
    }
}

/// Returns once SQLCipher has finished starting in this process.
///
/// SQLite marks itself initialised before it runs SQLCipher's part of the
/// initialisation (`SQLITE_EXTRA_INIT`, outside SQLite's own lock), so a
/// thread that opens its first connection in that moment is told "An error
/// occurred with PRAGMA key or rekey" when it keys it. The first caller
/// keys an in-memory database until that succeeds (a few attempts at most,
/// a millisecond apart); every other caller waits for it. Every keying in
/// Doorstep goes through here.
pub fn sqlcipher_ready() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        for _ in 0..1000 {
            let keyed = Connection::open_in_memory().and_then(|c| c.execute_batch("PRAGMA key = 'ready'"));
            if keyed.is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        tracing::warn!("SQLCipher did not finish starting within a second; keying goes ahead");
    });
}

/// How every Doorstep database's pages are sealed, beyond SQLCipher 4's
/// defaults (AES-256-CBC, 4 KiB pages, a random IV per page): the per-page
/// MAC is HMAC-SHA256, not SHA512. Tablets' ARMv8 cores (and x86 with SHA-NI)
/// compute SHA-256 in hardware but not SHA-512, and the MAC is computed on
/// every page written and checked on every page read; SHA-256's 256-bit tag
/// is as strong a seal here. A file sealed one way cannot be read the other.
pub fn cipher_settings(schema: Option<&str>) -> String {
    match schema {
        Some(s) => format!("PRAGMA {s}.cipher_hmac_algorithm = HMAC_SHA256;"),
        None => "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;".to_owned(),
    }
}

/// [`cipher_settings`] as SQLCipher's process-wide defaults, for copies
/// SQLCipher keys on its own (`VACUUM INTO` from an encrypted database
/// keys the copy with the main key and the default settings).
pub fn cipher_default_settings() -> &'static str {
    "PRAGMA cipher_default_hmac_algorithm = HMAC_SHA256;"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_debug_hides_the_key() {
        let key = DbKey::generate().expect("random");
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(DbKey::from_hex(&format!("  {}\n", hex.as_str())).expect("parse"), key);
        assert_eq!(format!("{key:?}"), "DbKey(hidden)");
        assert!(!key.pragma(None).is_empty());
    }

    #[test]
    fn bad_hex_is_named_without_echoing_it() {
        let short = DbKey::from_hex("abc").expect_err("short");
        assert!(short.contains("3 characters"), "{short}");
        let odd = DbKey::from_hex(&"zz".repeat(32)).expect_err("not hex");
        assert!(odd.contains("not hexadecimal"), "{odd}");
        assert!(!odd.contains("zz"));
        assert!(DbKey::from_bytes(&[0u8; 31]).is_none());
    }
}
