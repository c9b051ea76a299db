//! Sealing an exchange's bodies under the pairing secret: HKDF-SHA256
//! derives one key per direction, ChaCha20-Poly1305 seals the gzipped
//! JSON, a random nonce goes first. A body sealed under another secret,
//! or altered on the way, does not open.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};

/// Which way a body goes: each has its own key, so an answer cannot be
/// sent back as a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// From the scanning tablet to the listener.
    Request,
    /// The listener's answer.
    Answer,
}

struct KeyLen;

impl KeyType for KeyLen {
    fn len(&self) -> usize {
        CHACHA20_POLY1305.key_len()
    }
}

fn key(secret: &[u8; 16], direction: Direction) -> Option<LessSafeKey> {
    let info: &[&[u8]] = match direction {
        Direction::Request => &[b"doorstep share v1 request"],
        Direction::Answer => &[b"doorstep share v1 answer"],
    };
    let prk = Salt::new(HKDF_SHA256, b"doorstep share v1").extract(secret);
    let okm = prk.expand(info, KeyLen).ok()?;
    let mut bytes = [0u8; 32];
    okm.fill(&mut bytes).ok()?;
    UnboundKey::new(&CHACHA20_POLY1305, &bytes).ok().map(LessSafeKey::new)
}

/// `plain` sealed: nonce, then ciphertext and tag.
pub(super) fn seal(secret: &[u8; 16], direction: Direction, plain: &[u8]) -> Option<Vec<u8>> {
    let key = key(secret, direction)?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).ok()?;
    let mut body = plain.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut body)
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&body);
    Some(out)
}

/// The plain bytes of a sealed body, if it opens under `secret`.
pub(super) fn open(secret: &[u8; 16], direction: Direction, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let key = key(secret, direction)?;
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut body = body.to_vec();
    let plain = key.open_in_place(nonce, Aad::empty(), &mut body).ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_and_direction_open_a_body() {
        let sealed = seal(&[1; 16], Direction::Request, b"offer").expect("sealed");
        assert_eq!(
            open(&[1; 16], Direction::Request, &sealed).as_deref(),
            Some(&b"offer"[..])
        );
        assert_eq!(open(&[2; 16], Direction::Request, &sealed), None);
        assert_eq!(open(&[1; 16], Direction::Answer, &sealed), None);
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(open(&[1; 16], Direction::Request, &flipped), None);
        assert_eq!(open(&[1; 16], Direction::Request, b"short"), None);
    }
}
