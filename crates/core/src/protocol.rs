//! The sync protocol (v2): what a tablet and the server say to each other.
//!
//! This module is a **protocol boundary**. Both sides use these types; only
//! they know the JSON field names that travel over HTTP. A change here is a
//! change to the protocol: add optional fields, or raise
//! [`PROTOCOL_VERSION`] and keep answering older clients with
//! [`ErrorCode::UpgradeRequired`].
//!
//! Changes travel in a compact form ([`WireChanges`]) because a volunteer's
//! day must fit through a 2G link: device ids are listed once per batch and
//! referred to by index, a change's id is left out when it is the one
//! [`ChangeId::derive`] gives, and field writes are short arrays
//! (`[name, value]`, `[name, value, base]`, `[name, value, base, resolves]`).
//! Decoding gives back exactly the [`Change`] records that were encoded.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::change::{Change, ChangeOp, FieldWrite, Version};
use crate::hlc::Hlc;
use crate::ids::{ChangeId, CommuneId, DeviceId};
use crate::schema::{EntityKind, FieldValue};
use crate::sign::{DeviceCert, PublicKey, Signature, SignedBatch};

/// The protocol this build speaks. A request with another number is
/// answered with [`ErrorCode::UpgradeRequired`] (older) or
/// [`ErrorCode::UnsupportedProtocol`] (newer).
///
/// - 1: the first wave.
/// - 2: signed pushes ([`SyncRequest::signature`]), batches carried for
///   other tablets ([`SyncRequest::carried`], [`SyncResponse::carried`]),
///   a key at enrolment ([`EnrollRequest::public_key`]) or later
///   ([`paths::KEY`]), and tablet-to-tablet exchange ([`share`]). Version 1
///   requests are still answered as before.
pub const PROTOCOL_VERSION: u32 = 2;

/// The version of the entity schema (`crate::schema`) this build knows.
/// Devices send it with every sync; the server refuses older ones it can no
/// longer read.
pub const SCHEMA_VERSION: u32 = 1;

/// Paths of the HTTP endpoints.
pub mod paths {
    /// Exchange an enrolment code for a device token.
    pub const ENROLL: &str = "/api/v1/enroll";
    /// Push and pull in one round trip.
    pub const SYNC: &str = "/api/v1/sync";
    /// The checklist packs in use (with ETag).
    pub const PACKS: &str = "/api/v1/packs";
    /// Liveness and the server's time and versions.
    pub const HEALTH: &str = "/healthz";
    /// A revoked tablet reports that it erased its data ([`super::ErasedReport`]).
    pub const ERASED: &str = super::ERASED_PATH;
    /// A sync request sent as a resumable upload ([`super::upload`]).
    pub const SYNC_UPLOAD: &str = "/api/v1/sync/upload";
    /// A tablet enrolled before signed changes registers its key
    /// ([`super::KeyRequest`]).
    pub const KEY: &str = "/api/v1/key";
}

/// Resumable uploads of a sync request (`POST /api/v1/sync/upload`).
///
/// A 2G link cuts a request mid-body; a plain `POST /api/v1/sync` then loses
/// every byte sent. A resumable upload is the same gzipped [`SyncRequest`]
/// body, named by its key (SHA-256 of the whole gzipped body, 64 lower-case
/// hex digits) and sent as pieces: the server keeps the bytes of a cut piece
/// for a few minutes, keyed by the authenticated device and the key, and the
/// device sends only the rest. Once the body is whole and its SHA-256 is the
/// key, the server answers exactly as `POST /api/v1/sync` would (the same
/// [`SyncResponse`] and errors); it also keeps the whole body for a while,
/// so a device whose answer was lost asks again with an empty last piece.
///
/// - `POST` [`paths::SYNC_UPLOAD`] with [`KEY`], [`LENGTH`] (the whole
///   body's bytes) and [`OFFSET`] (where this piece starts), and bytes
///   `OFFSET..LENGTH` of the body, without `Content-Encoding`.
/// - `GET` [`paths::SYNC_UPLOAD`] with [`KEY`]: 204 with [`OFFSET`], the
///   bytes the server holds (0 when none), and [`LENGTH`] when it holds any.
///   A probe also stops the server from taking more bytes from an older
///   connection still sending this upload, so the offset stays true.
/// - A piece at another offset than the one held (0 always starts again),
///   a piece that ends before the body does, and a piece for an upload that
///   is not held (never started, or expired) are answered 409
///   [`ErrorCode::UploadOffset`] with [`OFFSET`] naming where to go on.
/// - A body whose SHA-256 is not its key is answered 400 and dropped; a
///   declared length over the server's request limit, 413.
pub mod upload {
    /// Header: the upload's key, SHA-256 of the whole gzipped body in hex.
    pub const KEY: &str = "doorstep-upload-key";
    /// Header: the whole body's length in bytes.
    pub const LENGTH: &str = "doorstep-upload-length";
    /// Header: where a piece starts; in answers, the bytes the server holds.
    pub const OFFSET: &str = "doorstep-upload-offset";
}

/// `POST /api/v1/erased`: a tablet told to erase its data (an
/// [`ErrorBody`] with `erase`) reports, with its (revoked) bearer token,
/// that it did. Answered 204 No Content; repeating it is harmless.
pub const ERASED_PATH: &str = "/api/v1/erased";

/// `POST /api/v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// [`PROTOCOL_VERSION`] of the client.
    pub protocol: u32,
    /// [`SCHEMA_VERSION`] of the client.
    pub schema_version: u32,
    /// The one-time code a team lead handed out, as typed.
    pub code: String,
    /// A label for the device list ("tablet 3"); optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The tablet's Ed25519 public key (protocol 2): the server keeps it
    /// and checks every batch of this tablet's against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
}

/// The answer to a successful enrolment. The token is shown only here; the
/// server keeps only its hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The id this device writes its changes under from now on.
    pub device_id: DeviceId,
    /// The bearer token for every later request.
    pub token: String,
    /// The commune whose data this device may see and change.
    pub commune_id: CommuneId,
    /// Its name, for the screen.
    pub commune_name: String,
    /// The member the device belongs to.
    pub member_id: Uuid,
    /// The server's clock (UTC, `2026-11-27T08:30:00.000Z`).
    pub server_time: String,
    /// The server's certificate for the key sent (protocol 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<DeviceCert>,
    /// The key the server signs certificates with: what this tablet checks
    /// other tablets' certificates against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<PublicKey>,
}

impl fmt::Debug for EnrollResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollResponse")
            .field("device_id", &self.device_id)
            .field("token", &"<hidden>")
            .field("commune_id", &self.commune_id)
            .field("member_id", &self.member_id)
            .field("server_time", &self.server_time)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/sync`: push the outbox from `acked_seq + 1` on, and pull
/// the next page after `pull_cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// [`PROTOCOL_VERSION`] of the client.
    pub protocol: u32,
    /// [`SCHEMA_VERSION`] of the client.
    pub schema_version: u32,
    /// The device the token was issued to.
    pub device_id: DeviceId,
    /// The highest seq the device knows the server applied. The answer
    /// repeats what happened to every seq above it (rejections, restamped
    /// clocks), so an answer lost on the way is never lost for good.
    #[serde(default)]
    pub acked_seq: u64,
    /// The device's own changes, in seq order, starting at `acked_seq + 1`
    /// or later (the server skips what it already has).
    #[serde(default)]
    pub pushes: WireChanges,
    /// The server position the device has applied up to; absent at first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_cursor: Option<String>,
    /// At most this many changes in the pulled page (the server may send
    /// fewer); 0 pulls nothing.
    #[serde(default)]
    pub pull_limit: u32,
    /// The device's signature over `pushes` ([`crate::sign::batch_message`]
    /// with this device as origin). Required once the device registered a
    /// key; absent from protocol 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Other tablets' signed batches this device carries to the server
    /// (protocol 2). Each is answered in [`SyncResponse::carried`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<SignedBatch>,
}

/// The answer to a sync round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// Every seq up to this one is applied (or rejected) on the server: the
    /// device may acknowledge its outbox up to here.
    pub last_applied_seq: u64,
    /// Pushed changes that can never be applied, with the reason; the server
    /// moved past them so they never block the queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    /// Pushed changes whose stamp was too far ahead of the server's clock and
    /// was replaced by the server's; the device must adopt the new stamps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restamped: Vec<Restamp>,
    /// The pulled page: changes of the device's commune written by others.
    #[serde(default)]
    pub changes: WireChanges,
    /// The position after this page; send it back as `pull_cursor`.
    pub next_cursor: String,
    /// More changes wait after this page.
    pub has_more: bool,
    /// The server's clock (UTC, `2026-11-27T08:30:00.000Z`).
    pub server_time: String,
    /// The history the server's change log is in: a new one after the
    /// office restored a backup. Absent from servers before epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    /// The device's last applied seq in the newest completed backup of the
    /// server's database: the device may drop its changes up to here (and
    /// up to `last_applied_seq`) from its outbox. Absent while no backup
    /// holds any of them, and from servers before backups: then the device
    /// keeps every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backed_up_seq: Option<u64>,
    /// What became of each carried batch, in the request's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<CarriedOutcome>,
}

/// What the server did with one batch a device carried for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedOutcome {
    /// The tablet that made it.
    pub origin: DeviceId,
    /// Its last seq.
    pub last_seq: u64,
    /// What happened.
    pub outcome: RelayOutcome,
    /// The origin's position on the server now: every carrier may drop
    /// the origin's changes up to here (0 when the origin is unknown).
    pub last_applied_seq: u64,
    /// Why it was refused, in words, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What becomes of a carried batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayOutcome {
    /// Applied (what the server already had skipped, exactly once).
    Delivered,
    /// Its first seq is past what the server has of the origin: an
    /// earlier batch has not arrived yet. The carrier keeps it.
    Waiting,
    /// Everything in it was applied before: a replay, or a second carrier.
    Replayed,
    /// The signature is not the origin's over these changes.
    BadSignature,
    /// The origin was revoked.
    Revoked,
    /// The origin is not of the carrier's commune.
    OtherCommune,
    /// No tablet of this server has that id.
    UnknownOrigin,
    /// The origin has no key: its changes can travel only by itself.
    Unsigned,
    /// It does not decode, is empty, has a gap or another device's change.
    BadBatch,
    /// The origin's seqs hold other changes on the server: a copied tablet.
    Copied,
    /// The push rules refuse it (another commune's records, office data).
    Forbidden,
}

impl RelayOutcome {
    /// Every outcome.
    pub const ALL: [RelayOutcome; 11] = [
        RelayOutcome::Delivered,
        RelayOutcome::Waiting,
        RelayOutcome::Replayed,
        RelayOutcome::BadSignature,
        RelayOutcome::Revoked,
        RelayOutcome::OtherCommune,
        RelayOutcome::UnknownOrigin,
        RelayOutcome::Unsigned,
        RelayOutcome::BadBatch,
        RelayOutcome::Copied,
        RelayOutcome::Forbidden,
    ];

    /// Its code (metrics labels, the relay table).
    pub fn as_str(self) -> &'static str {
        match self {
            RelayOutcome::Delivered => "delivered",
            RelayOutcome::Waiting => "waiting",
            RelayOutcome::Replayed => "replayed",
            RelayOutcome::BadSignature => "bad_signature",
            RelayOutcome::Revoked => "revoked",
            RelayOutcome::OtherCommune => "other_commune",
            RelayOutcome::UnknownOrigin => "unknown_origin",
            RelayOutcome::Unsigned => "unsigned",
            RelayOutcome::BadBatch => "bad_batch",
            RelayOutcome::Copied => "copied",
            RelayOutcome::Forbidden => "forbidden",
        }
    }

    /// Whether the batch is done with: delivered, or refused for good.
    /// Only [`RelayOutcome::Waiting`] keeps it.
    pub fn settled(self) -> bool {
        self != RelayOutcome::Waiting
    }
}

/// `POST /api/v1/key` (bearer token): a tablet enrolled before signed
/// changes registers its key, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequest {
    /// [`PROTOCOL_VERSION`] of the client (2 or later).
    pub protocol: u32,
    /// The tablet's Ed25519 public key.
    pub public_key: PublicKey,
}

/// The answer to [`KeyRequest`] (and the key part of an enrolment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyResponse {
    /// The server's certificate for the key.
    pub cert: DeviceCert,
    /// The key the server signs certificates with.
    pub server_key: PublicKey,
}

/// Tablet to tablet, over the local network, with no server in reach.
///
/// A tablet showing "Share with a nearby tablet" listens on the LAN and
/// shows a QR code: its address, port and a one-time secret.
/// The other scans it and sends `POST` [`PATH`] with its [`Offer`]; the
/// answer is the listener's own [`Offer`]. Both bodies are sealed with a
/// key derived from the secret (ChaCha20-Poly1305), so nobody else on the
/// network reads or alters them, and the secret itself never travels over
/// the network. Each batch in an offer is signed by its origin: the
/// receiver checks its certificate against the server's key and its
/// signature before it carries it.
pub mod share {
    use serde::{Deserialize, Serialize};

    use crate::ids::{CommuneId, DeviceId};
    use crate::sign::SignedBatch;

    /// Where the exchange is posted.
    pub const PATH: &str = "/share/v1/exchange";

    /// What a pairing QR code starts with.
    pub const PAIRING_PREFIX: &str = "doorstep-share:1:";

    /// One side's offer: its own unsent changes and those it carries.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Offer {
        /// [`super::PROTOCOL_VERSION`] of the sender.
        pub protocol: u32,
        /// The sender.
        pub device: DeviceId,
        /// Its commune: tablets of two communes exchange nothing.
        pub commune: CommuneId,
        /// Signed batches: the sender's own and the ones it carries.
        #[serde(default)]
        pub batches: Vec<SignedBatch>,
        /// Per origin, the last seq the sender knows the server applied:
        /// the receiver drops what it carries up to there.
        #[serde(default)]
        pub acks: Vec<OriginAck>,
    }

    /// An origin's position on the server, as last heard.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OriginAck {
        /// The tablet.
        pub origin: DeviceId,
        /// Its last seq the server applied.
        pub seq: u64,
    }
}

/// A pushed change the server refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Its seq in the device's outbox.
    pub seq: u64,
    /// Why, in words a volunteer can act on, naming the field.
    pub reason: String,
}

/// A pushed change whose stamp the server replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restamp {
    /// Its seq in the device's outbox.
    pub seq: u64,
    /// The stamp the device wrote.
    pub was: Hlc,
    /// The stamp every replica uses instead.
    pub hlc: Hlc,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// "ok".
    pub status: String,
    /// Oldest protocol the server still answers.
    pub min_protocol: u32,
    /// [`PROTOCOL_VERSION`] of the server.
    pub protocol: u32,
    /// The server's clock.
    pub server_time: String,
}

/// `GET /api/v1/packs`: every installed pack version as its TOML text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacksResponse {
    /// The packs.
    pub packs: Vec<PackFile>,
}

/// One pack version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackFile {
    /// Its key ("vneid").
    pub key: String,
    /// Its version.
    pub version: u32,
    /// The pack as TOML, parsed and validated by the device.
    pub toml: String,
}

/// Why a request failed, as a stable code the client acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is not well formed; `field` names where (400).
    BadRequest,
    /// No token, or one the server does not know (401).
    Unauthorized,
    /// The token was revoked by a team lead (401).
    Revoked,
    /// The enrolment code is unknown, used or expired (401).
    BadCode,
    /// The device may not do this: another device's id, another commune (403).
    Forbidden,
    /// The body is larger than the server accepts (413).
    TooLarge,
    /// Pushes skip a seq; `expected_seq` names the next one the server needs (409).
    SeqGap,
    /// Another tablet pushes under this token with other changes at the
    /// same seqs: this one's files were copied from it (409). Its batch is
    /// kept aside at the office; a lead enrols it again (`copied_seq`).
    Copied,
    /// The client is too old: update the app (426).
    UpgradeRequired,
    /// The client is newer than the server (400).
    UnsupportedProtocol,
    /// Too many attempts; wait (429).
    TooManyRequests,
    /// A resumable upload's piece does not start where the server's held
    /// bytes end (or the upload is not held); the `doorstep-upload-offset`
    /// header names where to go on (409, [`upload`]).
    UploadOffset,
    /// The server failed; try again later (500/503).
    Internal,
    /// The office computer's disk is full (507): nothing of the push was
    /// kept; the tablet keeps its changes and tries again later. Added
    /// after protocol 1 shipped: an older app does not know the code,
    /// reads the answer as a failing server (5xx) and retries, as it should.
    DiskFull,
    /// Protocol 2: a push from a tablet with a registered key is not signed
    /// by that key, or is signed by a tablet without one (403).
    BadSignature,
    /// Protocol 2: the tablet already registered another key (409).
    KeyConflict,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What kind of failure.
    pub error: ErrorCode,
    /// One sentence saying what is wrong, naming the value at fault.
    pub message: String,
    /// The request field at fault (a JSON path such as `pushes.c[3].s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For [`ErrorCode::SeqGap`]: the seq the server needs next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
    /// For [`ErrorCode::Copied`]: the first seq whose change is not the
    /// one the server has from this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_seq: Option<u64>,
    /// For [`ErrorCode::Revoked`]: the lead asked for this tablet's data to
    /// be erased; the tablet deletes its databases and keys, then reports
    /// with `POST /api/v1/erased` ([`ErasedReport`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erase: bool,
    /// The server's clock.
    pub server_time: String,
}

/// `POST /api/v1/erased` ([`ERASED_PATH`]): the tablet erased its data as
/// a team lead asked. Sent with the tablet's own (revoked) bearer token;
/// answered 204 No Content (again 204 if repeated: the first report is the
/// one kept), 403 for another device's id, 409 if no erase was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasedReport {
    /// [`PROTOCOL_VERSION`] of the client.
    pub protocol: u32,
    /// The device the token was issued to.
    pub device_id: DeviceId,
    /// Changes made on the tablet that never reached the server, lost with
    /// the erase (the outbox above the last acknowledged seq).
    pub unsent_changes: u64,
    /// When the tablet erased, by its clock (UTC, `2026-11-27T08:30:00.000Z`).
    /// The server keeps it unless it is before the erase was asked or
    /// after the report arrived; then it keeps the report's arrival time.
    pub erased_at: String,
}

/// A batch of changes in their compact wire form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireChanges {
    /// The devices the changes and their bases refer to, by index.
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceId>,
    /// The changes.
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<WireChange>,
}

/// One change in wire form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireChange {
    /// The change id, only when it is not `ChangeId::derive(device, seq)`.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ChangeId>,
    /// Index of the writing device in [`WireChanges::devices`].
    #[serde(rename = "d", default, skip_serializing_if = "is_zero")]
    pub device: u32,
    /// Its seq in that device's outbox.
    #[serde(rename = "s")]
    pub seq: u64,
    /// Its HLC stamp.
    #[serde(rename = "h")]
    pub hlc: Hlc,
    /// The entity kind.
    #[serde(rename = "k")]
    pub entity: EntityKind,
    /// The entity id; absent when it is the change's id (step events).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<Uuid>,
    /// true for a create, false (or absent) for an update.
    #[serde(rename = "n", default, skip_serializing_if = "is_false")]
    pub create: bool,
    /// The field writes.
    #[serde(rename = "f")]
    pub fields: Vec<WireField>,
}

/// One field write in wire form: `[name, value]`, `[name, value, base]` or
/// `[name, value, base, [resolves...]]`, where a version is
/// `[hlc, device index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireField {
    /// Field name.
    pub field: String,
    /// New value.
    pub value: FieldValue,
    /// The replaced version.
    pub base: Option<WireVersion>,
    /// Versions a resolution replaces.
    pub resolves: Vec<WireVersion>,
}

/// A version in wire form: `[hlc, device index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireVersion(pub Hlc, pub u32);

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Serialize for WireField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = if !self.resolves.is_empty() {
            4
        } else if self.base.is_some() {
            3
        } else {
            2
        };
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&self.field)?;
        seq.serialize_element(&self.value)?;
        if len >= 3 {
            seq.serialize_element(&self.base)?;
        }
        if len == 4 {
            seq.serialize_element(&self.resolves)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for WireField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = WireField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field write [name, value], [name, value, base] or [name, value, base, resolves]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireField, A::Error> {
                let field: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let value: FieldValue = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let base: Option<WireVersion> = seq.next_element()?.unwrap_or(None);
                let resolves: Vec<WireVersion> = seq.next_element()?.unwrap_or_default();
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(5, &self));
                }
                Ok(WireField {
                    field,
                    value,
                    base,
                    resolves,
                })
            }
        }
        d.deserialize_seq(FieldVisitor)
    }
}

/// A batch that does not decode into change records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WireError {
    /// Where, as a path into the batch (`c[3].f[1]`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl WireChanges {
    /// Encodes changes (in the given order) into one batch.
    pub fn encode<'a>(changes: impl IntoIterator<Item = &'a Change>) -> WireChanges {
        let mut out = WireChanges::default();
        let mut index: HashMap<DeviceId, u32> = HashMap::new();
        let mut device_index = |out: &mut WireChanges, device: DeviceId| -> u32 {
            *index.entry(device).or_insert_with(|| {
                out.devices.push(device);
                u32::try_from(out.devices.len() - 1).unwrap_or(u32::MAX)
            })
        };
        for change in changes {
            let device = device_index(&mut out, change.device);
            let fields = change
                .fields
                .iter()
                .map(|w| WireField {
                    field: w.field.clone(),
                    value: w.value.clone(),
                    base: w.base.map(|b| WireVersion(b.hlc, device_index(&mut out, b.device))),
                    resolves: w
                        .resolves
                        .iter()
                        .map(|r| WireVersion(r.hlc, device_index(&mut out, r.device)))
                        .collect(),
                })
                .collect();
            out.changes.push(WireChange {
                id: (change.id != ChangeId::derive(change.device, change.seq)).then_some(change.id),
                entity_id: (change.entity_id != change.id.as_uuid()).then_some(change.entity_id),
                device,
                seq: change.seq,
                hlc: change.hlc,
                entity: change.entity,
                create: change.op == ChangeOp::Create,
                fields,
            });
        }
        out
    }

    /// Decodes the batch back into change records. Names the first entry
    /// that refers to a device the batch does not list.
    pub fn decode(&self) -> Result<Vec<Change>, WireError> {
        let device = |i: u32, at: &dyn Fn() -> String| -> Result<DeviceId, WireError> {
            usize::try_from(i)
                .ok()
                .and_then(|i| self.devices.get(i))
                .copied()
                .ok_or_else(|| WireError {
                    field: at(),
                    message: format!(
                        "device index {i} is not in the batch's device list ({} entries)",
                        self.devices.len()
                    ),
                })
        };
        self.changes
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let writer = device(c.device, &|| format!("c[{n}].d"))?;
                let fields = c
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(k, w)| {
                        let at = || format!("c[{n}].f[{k}]");
                        let version = |v: &WireVersion| -> Result<Version, WireError> {
                            Ok(Version {
                                hlc: v.0,
                                device: device(v.1, &at)?,
                            })
                        };
                        Ok(FieldWrite {
                            field: w.field.clone(),
                            value: w.value.clone(),
                            base: w.base.as_ref().map(version).transpose()?,
                            resolves: w.resolves.iter().map(version).collect::<Result<_, _>>()?,
                        })
                    })
                    .collect::<Result<Vec<_>, WireError>>()?;
                let id = c.id.unwrap_or_else(|| ChangeId::derive(writer, c.seq));
                Ok(Change {
                    id,
                    device: writer,
                    seq: c.seq,
                    hlc: c.hlc,
                    entity: c.entity,
                    entity_id: c.entity_id.unwrap_or(id.as_uuid()),
                    op: if c.create { ChangeOp::Create } else { ChangeOp::Update },
                    fields,
                })
            })
            .collect()
    }

    /// Number of changes in the batch.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether the batch holds no change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(device: DeviceId, seq: u64, base: Option<Version>) -> Change {
        Change {
            id: ChangeId::derive(device, seq),
            device,
            seq,
            hlc: Hlc::new(1_780_000_000_000 + seq, 0),
            entity: EntityKind::Household,
            entity_id: Uuid::now_v7(),
            op: if base.is_none() {
                ChangeOp::Create
            } else {
                ChangeOp::Update
            },
            fields: vec![FieldWrite {
                field: "head_name".into(),
                value: FieldValue::from("Lò Văn Pắn"),
                base,
                resolves: Vec::new(),
            }],
        }
    }

    #[test]
    fn a_batch_decodes_to_the_changes_encoded() {
        let (a, b) = (DeviceId::new(), DeviceId::new());
        let first = change(a, 1, None);
        let mut second = change(a, 2, Some(first.version()));
        second.fields[0].resolves = vec![Version {
            hlc: Hlc::new(5, 1),
            device: b,
        }];
        let mut third = change(b, 9, None);
        third.id = ChangeId::new(); // not a derived id: travels explicitly
        let changes = vec![first, second, third];
        let wire = WireChanges::encode(&changes);
        assert_eq!(wire.devices, vec![a, b]);
        assert!(wire.changes[0].id.is_none());
        assert!(wire.changes[2].id.is_some());
        let json = serde_json::to_string(&wire).expect("encode");
        let back: WireChanges = serde_json::from_str(&json).expect("decode json");
        assert_eq!(back.decode().expect("decode"), changes);
    }

    #[test]
    fn a_bad_device_index_is_named() {
        let mut wire = WireChanges::encode(&[change(DeviceId::new(), 1, None)]);
        wire.changes[0].device = 3;
        let err = wire.decode().expect_err("index out of range");
        assert_eq!(err.field, "c[0].d");
    }

    #[test]
    fn a_field_write_with_extra_elements_is_refused() {
        let err = serde_json::from_str::<WireField>(r#"["a", 1, null, [], 5]"#).expect_err("too long");
        assert!(err.to_string().contains("invalid length"), "{err}");
        let ok: WireField = serde_json::from_str(r#"["a", null]"#).expect("short form");
        assert_eq!(ok.value, FieldValue::Null);
    }

    #[test]
    fn erase_travels_only_when_asked() {
        let mut body = ErrorBody {
            error: ErrorCode::Revoked,
            message: "removed".into(),
            field: None,
            expected_seq: None,
            copied_seq: None,
            erase: false,
            server_time: "2026-11-27T08:30:00.000Z".into(),
        };
        let plain = serde_json::to_string(&body).expect("encode");
        assert!(!plain.contains("erase"), "{plain}");
        // An older server's answer (no field) reads as no erase.
        assert_eq!(serde_json::from_str::<ErrorBody>(&plain).expect("decode"), body);
        body.erase = true;
        let asked = serde_json::to_value(&body).expect("encode");
        assert_eq!(asked["erase"], serde_json::Value::Bool(true));
        assert_eq!(serde_json::from_value::<ErrorBody>(asked).expect("decode"), body);
    }

    #[test]
    fn an_erased_report_is_strict() {
        let device = DeviceId::new();
        let report = ErasedReport {
            protocol: PROTOCOL_VERSION,
            device_id: device,
            unsent_changes: 3,
            erased_at: "2026-11-27T08:30:00.000Z".into(),
        };
        let json = serde_json::to_value(&report).expect("encode");
        assert_eq!(json["unsent_changes"], 3);
        assert_eq!(
            serde_json::from_value::<ErasedReport>(json.clone()).expect("decode"),
            report
        );
        let mut extra = json;
        extra["wiped"] = serde_json::Value::Bool(true);
        assert!(
            serde_json::from_value::<ErasedReport>(extra).is_err(),
            "unknown fields are refused"
        );
    }
}
