//! What both stores share about changes set aside from a copied tablet.

use sha2::{Digest, Sha256};

/// The SHA-256 of a kept change's JSON, in hexadecimal: tells a refusal
/// repeated by the same copy from another copy's change at the same seq.
pub(crate) fn digest(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
