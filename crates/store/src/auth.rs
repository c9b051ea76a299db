//! Device tokens and enrolment codes: made from the OS's randomness, stored
//! only as keyed hashes (HMAC-SHA256 under a per-server key).
//!
//! Tokens carry 256 random bits, so a keyed hash is the right tool (a slow
//! password hash protects low-entropy secrets; here it would only slow every
//! sync). The key lives in the database, so a stolen token table alone
//! cannot be checked against guesses; the hash is looked up directly, so
//! checking a token costs one indexed read.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Letters of enrolment codes: no 0/O or 1/I, which people mix up.
const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// Characters in an enrolment code (50 bits).
pub const CODE_LEN: usize = 10;

/// The server's hashing key.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<hidden>)")
    }
}

/// The OS could not give random bytes.
#[derive(Debug, thiserror::Error)]
#[error("the operating system gave no random bytes: {0}")]
pub struct NoRandomness(String);

fn random<const N: usize>() -> Result<[u8; N], NoRandomness> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| NoRandomness(e.to_string()))?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TokenKey {
    /// A new random key.
    pub fn generate() -> Result<TokenKey, NoRandomness> {
        Ok(TokenKey(random()?))
    }

    /// The key from its stored hex form.
    pub fn from_hex(text: &str) -> Option<TokenKey> {
        if text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(TokenKey(out))
    }

    /// The stored hex form.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The keyed hash of a token or a (normalised) code, as stored.
    pub fn hash(&self, secret: &str) -> String {
        // HMAC accepts keys of any length; 32 bytes never fails.
        match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(secret.as_bytes());
                hex(&mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

/// A new bearer token for a device.
pub fn new_token() -> Result<String, NoRandomness> {
    Ok(format!("dst1_{}", hex(&random::<32>()?)))
}

/// A new enrolment code, as shown (`K7M2Q-9XDRT`).
pub fn new_code() -> Result<String, NoRandomness> {
    let bytes = random::<CODE_LEN>()?;
    let raw: String = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("{}-{}", &raw[..5], &raw[5..]))
}

/// A code as typed, in the one form that is hashed: upper case, without
/// spaces or dashes.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether a typed code has the shape of one (before any lookup).
pub fn looks_like_code(normalised: &str) -> bool {
    normalised.len() == CODE_LEN && normalised.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_however_they_are_typed() {
        let code = new_code().expect("random");
        let typed = code.to_lowercase().replace('-', " ");
        assert!(looks_like_code(&normalise_code(&typed)));
        assert_eq!(normalise_code(&typed), normalise_code(&code));
    }

    #[test]
    fn hashes_depend_on_the_key_and_the_key_round_trips() {
        let (a, b) = (
            TokenKey::generate().expect("random"),
            TokenKey::generate().expect("random"),
        );
        let token = new_token().expect("random");
        assert_ne!(a.hash(&token), b.hash(&token));
        assert_eq!(a.hash(&token), a.hash(&token));
        let back = TokenKey::from_hex(&a.to_hex()).expect("hex");
        assert_eq!(back.hash(&token), a.hash(&token));
        assert!(!a.hash(&token).contains(&token[5..]));
    }
}
