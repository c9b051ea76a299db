//! Signed changes: who made a batch, proven to anyone who carries it.
//!
//! Every enrolled tablet holds an Ed25519 key pair; the server keeps its
//! public key. A tablet signs each batch of its own changes, and the
//! signature travels with the batch whoever delivers it - the tablet
//! itself, another tablet that met it in a village, or a village hub -
//! so a carrier can delay or drop a batch but not alter, invent or
//! replay one into effect (ARCHITECTURE.md, "Trust model").
//!
//! What is signed is the batch's **canonical bytes** ([`batch_message`]):
//! a domain label, the origin device's id, and the compact wire form of
//! its changes serialised by `serde_json`. Serialising parsed wire changes
//! gives the same bytes again (no floats, no maps, fields in declaration
//! order), so the server re-serialises what it parsed and checks that.
//!
//! The server also signs a **device certificate** ([`DeviceCert`]: device,
//! commune, public key) with its own key, so a tablet can check another
//! tablet's batch offline, with nothing but the server's public key it got
//! at enrolment.
//!
//! Pure: key pairs come from a seed the caller draws from the platform's
//! random source.

use std::fmt;
use std::str::FromStr;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::change::Change;
use crate::ids::{CommuneId, DeviceId};
use crate::protocol::WireChanges;

/// What a batch signature signs before the batch, so no other signed
/// message of ours can be passed off as a batch.
const BATCH_LABEL: &[u8] = b"doorstep signed batch v2\n";

/// What a device certificate signs before its fields.
const CERT_LABEL: &[u8] = b"doorstep device certificate v2\n";

/// An Ed25519 public key: 64 lower-case hex digits in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// An Ed25519 signature: 128 lower-case hex digits in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

/// A key pair that signs. Its seed is secret: hidden in `Debug`.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    seed: [u8; 32],
}

/// Text that is not a key or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be {digits} hexadecimal digits")]
pub struct BadHex {
    what: &'static str,
    digits: usize,
}

impl SigningKey {
    /// The key pair of a 32-byte seed (drawn from the platform's random
    /// source once, and kept).
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        // ring refuses a seed only when it is not 32 bytes long, which the
        // type rules out.
        #[allow(clippy::expect_used)]
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("a 32-byte Ed25519 seed");
        SigningKey { pair, seed }
    }

    /// The seed, to keep in the device's (encrypted) store.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let mut sig = [0u8; 64];
        sig.copy_from_slice(self.pair.sign(message).as_ref());
        Signature(sig)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Whether `signature` is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, &signature.0)
            .is_ok()
    }
}

/// The bytes a batch's signature covers: the label, the origin's id and
/// the wire changes as `serde_json` writes them.
pub fn batch_message(origin: DeviceId, changes: &WireChanges) -> Vec<u8> {
    // Serialising plain data into a Vec cannot fail.
    let json = serde_json::to_vec(changes).unwrap_or_default();
    let mut message = Vec::with_capacity(BATCH_LABEL.len() + 16 + json.len());
    message.extend_from_slice(BATCH_LABEL);
    message.extend_from_slice(origin.as_uuid().as_bytes());
    message.extend_from_slice(&json);
    message
}

/// A tablet's key, bound to the tablet and its commune by the server's
/// signature: what another tablet checks a carried batch against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCert {
    /// The tablet.
    pub device: DeviceId,
    /// Its commune.
    pub commune: CommuneId,
    /// Its public key.
    pub key: PublicKey,
    /// The server's signature over the three.
    pub signature: Signature,
}

impl DeviceCert {
    fn message(device: DeviceId, commune: CommuneId, key: &PublicKey) -> Vec<u8> {
        let mut message = Vec::with_capacity(CERT_LABEL.len() + 64);
        message.extend_from_slice(CERT_LABEL);
        message.extend_from_slice(device.as_uuid().as_bytes());
        message.extend_from_slice(commune.as_uuid().as_bytes());
        message.extend_from_slice(&key.0);
        message
    }

    /// The server's certificate for `device` of `commune` holding `key`.
    pub fn issue(server: &SigningKey, device: DeviceId, commune: CommuneId, key: PublicKey) -> DeviceCert {
        DeviceCert {
            device,
            commune,
            key,
            signature: server.sign(&DeviceCert::message(device, commune, &key)),
        }
    }

    /// Whether the server whose public key is `server` issued it.
    pub fn issued_by(&self, server: &PublicKey) -> bool {
        server.verifies(
            &DeviceCert::message(self.device, self.commune, &self.key),
            &self.signature,
        )
    }
}

/// A batch of one tablet's own changes with its signature: the unit a
/// carrier keeps and hands on unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBatch {
    /// The tablet that made the changes and signed them.
    #[serde(rename = "o")]
    pub origin: DeviceId,
    /// The changes, in seq order without a gap.
    #[serde(rename = "c")]
    pub changes: WireChanges,
    /// The origin's signature over [`batch_message`].
    #[serde(rename = "s")]
    pub signature: Signature,
    /// The origin's certificate, so other tablets can check the batch
    /// offline; the server checks against the key it keeps instead.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<DeviceCert>,
}

/// Why a signed batch is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchProblem {
    /// The signature is not the origin's over these changes.
    #[error("the signature is not its origin's over these changes: the batch was altered or forged")]
    BadSignature,
    /// The batch holds no change.
    #[error("the batch holds no change")]
    Empty,
    /// The wire form does not decode.
    #[error("the batch does not decode: {0}")]
    Damaged(String),
    /// A change in it claims another device.
    #[error("change seq {seq} in the batch claims device {claims}, not its origin")]
    NotOrigin {
        /// Its seq.
        seq: u64,
        /// The device it claims.
        claims: DeviceId,
    },
    /// Its seqs do not follow each other.
    #[error("the batch's seqs do not follow on from each other (seq {seq} after {after})")]
    Gap {
        /// The seq that breaks the run.
        seq: u64,
        /// The one before it.
        after: u64,
    },
}

impl SignedBatch {
    /// Signs `changes` (the origin's own, in seq order) with the origin's key.
    pub fn sign(key: &SigningKey, origin: DeviceId, changes: &[Change], cert: Option<DeviceCert>) -> SignedBatch {
        let changes = WireChanges::encode(changes);
        let signature = key.sign(&batch_message(origin, &changes));
        SignedBatch {
            origin,
            changes,
            signature,
            cert,
        }
    }

    /// The changes, once `key` (the origin's) proves the signature and they
    /// are all the origin's, in seq order without a gap.
    pub fn open(&self, key: &PublicKey) -> Result<Vec<Change>, BatchProblem> {
        if !key.verifies(&batch_message(self.origin, &self.changes), &self.signature) {
            return Err(BatchProblem::BadSignature);
        }
        let changes = self
            .changes
            .decode()
            .map_err(|e| BatchProblem::Damaged(e.to_string()))?;
        if changes.is_empty() {
            return Err(BatchProblem::Empty);
        }
        let mut after: Option<u64> = None;
        for c in &changes {
            if c.device != self.origin {
                return Err(BatchProblem::NotOrigin {
                    seq: c.seq,
                    claims: c.device,
                });
            }
            if let Some(a) = after
                && c.seq != a + 1
            {
                return Err(BatchProblem::Gap { seq: c.seq, after: a });
            }
            after = Some(c.seq);
        }
        Ok(changes)
    }

    /// The first and last seq the batch names (unchecked: read before
    /// opening, to file it).
    pub fn seq_range(&self) -> Option<(u64, u64)> {
        let first = self.changes.changes.first()?.seq;
        let last = self.changes.changes.last()?.seq;
        Some((first, last))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn from_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], BadHex> {
    let bad = BadHex { what, digits: N * 2 };
    let bytes = hex::decode(text).map_err(|_| bad.clone())?;
    bytes.try_into().map_err(|_| bad)
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = BadHex;
    fn from_str(s: &str) -> Result<Self, BadHex> {
        from_hex(s, "a public key").map(PublicKey)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = BadHex;
    fn from_str(s: &str) -> Result<Self, BadHex> {
        from_hex(s, "a signature").map(Signature)
    }
}

macro_rules! hex_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_serde!(PublicKey);
hex_serde!(Signature);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{ChangeOp, FieldWrite};
    use crate::hlc::Hlc;
    use crate::ids::HouseholdId;
    use crate::schema::{EntityKind, FieldValue};

    fn key(n: u8) -> SigningKey {
        SigningKey::from_seed([n; 32])
    }

    fn changes(device: DeviceId, seqs: std::ops::RangeInclusive<u64>) -> Vec<Change> {
        seqs.map(|seq| Change {
            id: crate::ids::ChangeId::derive(device, seq),
            device,
            seq,
            hlc: Hlc::new(1_780_000_000_000 + seq, 0),
            entity: EntityKind::Household,
            entity_id: HouseholdId::new().as_uuid(),
            op: ChangeOp::Update,
            fields: vec![FieldWrite {
                field: "notes".to_owned(),
                value: FieldValue::Text(format!("visit {seq}")),
                base: None,
                resolves: Vec::new(),
            }],
        })
        .collect()
    }

    #[test]
    fn a_signed_batch_opens_with_its_origins_key_only() {
        let origin = DeviceId::new();
        let batch = SignedBatch::sign(&key(1), origin, &changes(origin, 1..=3), None);
        assert_eq!(batch.open(&key(1).public_key()).expect("opens").len(), 3);
        assert_eq!(batch.open(&key(2).public_key()), Err(BatchProblem::BadSignature));
        assert_eq!(batch.seq_range(), Some((1, 3)));
    }

    #[test]
    fn a_flipped_value_or_another_origin_breaks_the_signature() {
        let origin = DeviceId::new();
        let batch = SignedBatch::sign(&key(1), origin, &changes(origin, 1..=2), None);
        let mut altered = batch.clone();
        altered.changes.changes[1].fields[0].value = FieldValue::Text("visit 3".to_owned());
        assert_eq!(altered.open(&key(1).public_key()), Err(BatchProblem::BadSignature));
        let mut moved = batch;
        moved.origin = DeviceId::new();
        assert_eq!(moved.open(&key(1).public_key()), Err(BatchProblem::BadSignature));
    }

    #[test]
    fn the_signature_survives_the_wire_and_a_reformatting_relay() {
        let origin = DeviceId::new();
        let batch = SignedBatch::sign(&key(1), origin, &changes(origin, 4..=6), None);
        let json = serde_json::to_string_pretty(&batch).expect("json");
        let back: SignedBatch = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, batch);
        assert!(back.open(&key(1).public_key()).is_ok());
    }

    #[test]
    fn a_batch_with_a_gap_or_someone_elses_change_is_refused_even_when_signed() {
        let origin = DeviceId::new();
        let mut gappy = changes(origin, 1..=2);
        gappy.extend(changes(origin, 5..=5));
        let batch = SignedBatch::sign(&key(1), origin, &gappy, None);
        assert_eq!(
            batch.open(&key(1).public_key()),
            Err(BatchProblem::Gap { seq: 5, after: 2 })
        );
        let other = DeviceId::new();
        let batch = SignedBatch::sign(&key(1), origin, &changes(other, 1..=1), None);
        assert!(matches!(
            batch.open(&key(1).public_key()),
            Err(BatchProblem::NotOrigin { seq: 1, .. })
        ));
        let empty = SignedBatch::sign(&key(1), origin, &[], None);
        assert_eq!(empty.open(&key(1).public_key()), Err(BatchProblem::Empty));
    }

    #[test]
    fn a_certificate_binds_a_key_to_a_tablet_and_commune() {
        let server = key(9);
        let device = DeviceId::new();
        let commune = CommuneId::new();
        let cert = DeviceCert::issue(&server, device, commune, key(1).public_key());
        assert!(cert.issued_by(&server.public_key()));
        assert!(!cert.issued_by(&key(8).public_key()));
        let mut moved = cert;
        moved.commune = CommuneId::new();
        assert!(!moved.issued_by(&server.public_key()));
    }

    #[test]
    fn keys_and_signatures_read_back_from_hex_and_refuse_anything_else() {
        let k = key(3).public_key();
        assert_eq!(k.to_string().parse::<PublicKey>(), Ok(k));
        assert!("abc".parse::<PublicKey>().is_err());
        assert!("zz".repeat(32).parse::<PublicKey>().is_err());
        let s = key(3).sign(b"x");
        assert_eq!(s.to_string().parse::<Signature>(), Ok(s));
        assert!(!format!("{:?}", key(3)).contains(&hex::encode([3u8; 32])));
    }
}
