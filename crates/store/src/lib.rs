//! `doorstep-store`: the server's storage, behind one trait so a PostgreSQL
//! store can take SQLite's place (chosen by the `--db` / `DATABASE_URL`
//! scheme), with the migrations of both, the report tables the dashboard
//! reads, and the hashed secrets it keeps (device tokens, enrolment codes,
//! member passwords).
//!
//! A store keeps no rules of its own: pushes are decided by
//! [`doorstep_ingest::plan`], office writes are built by
//! [`doorstep_ingest::office_changes`]; a store loads what those need, writes
//! what they return, and does both in one transaction.

pub mod accounts;
pub mod any;
pub mod auth;
pub mod health;
pub mod password;
pub mod postgres;
mod quarantine;
pub mod report;
pub(crate) mod report_rows;
mod schema;
pub mod sqlite;

use std::future::Future;

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{PackFile, Rejected, Restamp};
use doorstep_core::schema::{EntityKind, format_timestamp};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::{Known, OfficeWrite, Refusal};

/// A failure of the database itself (not of the request).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed (its own message is the error's source: shown).
    #[error("database: {}", with_causes(.0))]
    Postgres(tokio_postgres::Error),
    /// The disk holding the database is full (`SQLITE_FULL`, PostgreSQL's
    /// `53100 disk_full`): the transaction rolled back, nothing of it is
    /// kept. Reads go on working; writes work again once space is freed.
    #[error("the disk holding the database is full ({0}); free some space on it")]
    DiskFull(String),
    /// No PostgreSQL connection could be had from the pool.
    #[error("database connection: {0}")]
    Pool(String),
    /// Migrations failed.
    #[error("database schema: {0}")]
    Migration(String),
    /// Stored data does not read back.
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    /// The file is not a Doorstep server database, or is newer than this build.
    #[error("{0}")]
    Refused(String),
    /// A background task failed.
    #[error("internal: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            StoreError::DiskFull(e.to_string())
        } else {
            StoreError::Sqlite(e)
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        if e.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL) {
            StoreError::DiskFull(with_causes(&e))
        } else {
            StoreError::Postgres(e)
        }
    }
}

impl StoreError {
    /// The disk holding the database is full (see [`StoreError::DiskFull`]).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull(_))
    }
}

/// An enrolled device, as authentication finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRecord {
    /// Its id.
    pub id: DeviceId,
    /// Its label.
    pub label: Option<String>,
    /// Its member.
    pub member_id: Option<Uuid>,
    /// Its commune (`None` only for the office itself).
    pub commune_id: Option<String>,
    /// When it enrolled.
    pub enrolled_at: String,
    /// When it last synced.
    pub last_seen_at: Option<String>,
    /// Highest seq applied from it.
    pub last_applied_seq: u64,
    /// When a lead revoked it.
    pub revoked_at: Option<String>,
    /// When a lead asked for its data to be erased (it is told at its next
    /// contact, and reports back).
    pub erase_requested_at: Option<String>,
    /// When it reported that it erased its data.
    pub erased_at: Option<String>,
    /// How many changes it had not sent when it erased (lost with it).
    pub erased_unsent: Option<u64>,
    /// Its last applied seq in the newest backup this server took (none:
    /// no backup holds its changes yet). The tablet may drop its changes
    /// up to here from its outbox.
    pub backed_up_seq: Option<u64>,
    /// How many changes a copy of this tablet pushed that were set aside
    /// (`ingest::Refusal::Copied`); 0 when no copy was seen. Filled in by
    /// `Store::devices` only (the token lookup leaves it 0 and `copied_at`
    /// empty).
    pub copied_kept: u64,
    /// When a copy was first seen.
    pub copied_at: Option<String>,
    /// The Ed25519 public key it registered to sign its pushes, as 64
    /// lower-case hex digits (none registered yet).
    pub public_key: Option<String>,
}

/// What became of a tablet's public key ([`Store::register_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRegistered {
    /// Stored now.
    Registered,
    /// This very key was stored already: a harmless repeat.
    Same,
    /// The tablet already has another key: nothing changed.
    Other,
    /// No such tablet (unknown, or the office's own id): nothing stored.
    NoDevice,
}

/// What became of the batches one device carried for another
/// ([`Store::relays`]): one row per carrier, origin and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayRecord {
    /// The tablet (or hub) that brought the batches.
    pub carrier: DeviceId,
    /// The tablet that wrote and signed them (perhaps one the server does
    /// not know).
    pub origin: DeviceId,
    /// What happened, as a code: `delivered` (applied under the origin),
    /// or why they were refused (`bad_signature`, `revoked`,
    /// `other_commune`, `unknown_origin`, `unsigned`, `bad_batch`,
    /// `replayed`, `copied`, `forbidden`).
    pub outcome: String,
    /// How many times.
    pub count: u64,
    /// When last.
    pub last_at: String,
}

/// The relay outcome [`Store::push_carried`] records for a batch it wrote.
pub const DELIVERED: &str = "delivered";

/// Who brings a push: the device itself, or a carrier with the origin's
/// batch (the one push body both share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The device syncs itself: it confirmed up to `acked_seq`, and its
    /// contact is recorded.
    Own {
        /// The last seq it confirmed.
        acked_seq: u64,
    },
    /// `carrier` brings the device's batch: the device's own contact is
    /// not recorded, no rejections or restamps are answered, and a
    /// written plan counts a `delivered` relay.
    Carried {
        /// The carrier.
        carrier: DeviceId,
    },
}

impl Via {
    /// When the pushing device is seen, by a push of its own only.
    pub(crate) fn seen_at<'a>(&self, now: &'a str) -> Option<&'a str> {
        match self {
            Via::Own { .. } => Some(now),
            Via::Carried { .. } => None,
        }
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupTaken {
    /// The file.
    pub path: std::path::PathBuf,
    /// Its size.
    pub bytes: u64,
    /// When the copy's read transaction began.
    pub taken_at: chrono::DateTime<chrono::Utc>,
    /// The epoch of the database it copies.
    pub epoch: String,
    /// The newest change (server seq) it holds.
    pub server_seq: u64,
    /// Whether it is encrypted (under the office's key).
    pub encrypted: bool,
}

/// What became of a tablet's report that it erased its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseAck {
    /// Recorded now.
    Recorded,
    /// An earlier report was recorded; it stays (the first one wins).
    AlreadyRecorded,
    /// No erase was asked for this device: nothing recorded.
    NotRequested,
    /// No such device.
    NoDevice,
}

/// When a tablet erased, as kept: the time it reports, unless that is
/// before the erase was asked or after `now` (a tablet's clock may be
/// days off), then `now`.
pub(crate) fn erased_time(reported: DateTime<Utc>, requested: &str, now: DateTime<Utc>) -> String {
    let asked = doorstep_core::schema::parse_timestamp(requested).unwrap_or(now);
    if reported < asked || reported > now {
        format_timestamp(now)
    } else {
        format_timestamp(reported)
    }
}

/// A new enrolment code, stored hashed.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The code's hash.
    pub code_hash: String,
    /// The member the device will belong to.
    pub member_id: Uuid,
    /// The commune the device will see.
    pub commune_id: Uuid,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// An enrolment code not used yet and not expired. The code itself is
/// not kept: only its hash, which names it on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    /// The code's hash.
    pub code_hash: String,
    /// The member the device will belong to.
    pub member_id: Uuid,
    /// The commune the device will see.
    pub commune_id: Uuid,
    /// When it was made.
    pub created_at: String,
    /// When it stops working.
    pub expires_at: String,
}

/// Why an enrolment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// Unknown, used or expired code.
    #[error("this enrolment code is unknown, already used or expired; ask the team lead for a new one")]
    BadCode,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A device made by an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The new device's id.
    pub device_id: DeviceId,
    /// Its member.
    pub member_id: Uuid,
    /// Its commune.
    pub commune_id: Uuid,
    /// The commune's name.
    pub commune_name: String,
}

/// The answer to a push, covering every seq above the device's `acked_seq`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Every seq up to here is applied or rejected.
    pub last_applied_seq: u64,
    /// Rejections above `acked_seq`.
    pub rejected: Vec<Rejected>,
    /// Restamps above `acked_seq`.
    pub restamped: Vec<Restamp>,
    /// Changes accepted by this request.
    pub accepted: usize,
}

/// A pulled page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Changes in server order.
    pub changes: Vec<Change>,
    /// The position after the page.
    pub next_cursor: u64,
    /// More wait after it.
    pub has_more: bool,
}

/// Why an office write failed.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// The write breaks a rule; names the record and field.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Builds a pulled page from the rows of the commune's and the
/// campaign-wide range scans (each at most `limit + 1` rows after `after`;
/// `full` if either had more than `limit`), `high` being the log's end in
/// the same snapshot.
pub(crate) fn page_of(
    mut rows: Vec<(i64, String)>,
    after: u64,
    high: u64,
    full: bool,
    limit: usize,
    max_bytes: usize,
) -> Result<Page, StoreError> {
    rows.sort_by_key(|r| r.0);
    let mut page = Page::default();
    let mut bytes = 0usize;
    let mut last = None;
    for (seq, body) in &rows {
        if page.changes.len() >= limit || (bytes > 0 && bytes + body.len() > max_bytes) {
            break;
        }
        bytes += body.len();
        let change: Change =
            serde_json::from_str(body).map_err(|e| StoreError::Damaged(format!("change_log {seq}: {e}")))?;
        page.changes.push(change);
        last = Some(*seq);
    }
    page.has_more = full || page.changes.len() < rows.len();
    page.next_cursor = match (page.has_more, last) {
        (true, Some(seq)) => u64::try_from(seq).unwrap_or(0),
        (true, None) => after,
        // Nothing left for this device: jump to the end of the whole log,
        // so the next pull starts there instead of rescanning others' rows.
        (false, _) => high.max(after),
    };
    Ok(page)
}

/// What a server store does. Every method is one transaction.
pub trait Store: Send + Sync + 'static {
    /// The key token and code hashes are made with.
    fn token_key(&self) -> &TokenKey;

    /// The office's own device id (it writes the office's changes).
    fn office_device(&self) -> DeviceId;

    /// The change log's current history and the ones before it (restores),
    /// as this process last read them.
    fn epochs(&self) -> doorstep_ingest::epoch::Epochs;

    /// When the newest completed backup this server recorded began (its
    /// read transaction or snapshot); none before the first.
    fn newest_backup(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// Reads the epochs and the office's device id again (another server
    /// process may have started an epoch); the epochs now.
    fn reload_epochs(&self) -> impl Future<Output = Result<doorstep_ingest::epoch::Epochs, StoreError>> + Send;

    /// `device` says the server confirmed its changes up to `acked_seq`,
    /// more than the log holds of it: the change log was put back (a
    /// snapshot restore nothing of ours saw). Unless an epoch started
    /// since the device was last seen already accounts for it, starts a
    /// new epoch whose log is the current one up to the device's last
    /// change it holds, with a new office device id (`doorstep_ingest::epoch`).
    /// Whether it started one.
    fn rewound(
        &self,
        device: DeviceId,
        acked_seq: u64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Uses a code (once) and creates the device with its token hash.
    fn enroll(
        &self,
        code_hash: String,
        token_hash: String,
        label: Option<String>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Enrolled, EnrollError>> + Send;

    /// The device a token belongs to.
    fn device_by_token(
        &self,
        token_hash: String,
    ) -> impl Future<Output = Result<Option<DeviceRecord>, StoreError>> + Send;

    /// Applies a device's pushed changes exactly once (see `ingest`), and
    /// reports what happened to every seq above `acked_seq`.
    fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Result<Pushed, Refusal>, StoreError>> + Send;

    /// Applies a batch of `origin`'s that `carrier` brought, as
    /// [`Store::push`] would (the same plan, exactly once by seq, a copy's
    /// changes kept aside), except that `origin`'s last contact is left as
    /// it was (it did not sync itself) and no rejections or restamps are
    /// answered: `last_applied_seq` is `origin`'s position after the push,
    /// `accepted` how many were applied. A written plan also counts a
    /// `delivered` relay for (`carrier`, `origin`) at `now`, in the same
    /// transaction.
    fn push_carried(
        &self,
        origin: DeviceId,
        carrier: DeviceId,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Result<Pushed, Refusal>, StoreError>> + Send;

    /// Counts one more relay `outcome` for (`carrier`, `origin`), last at
    /// `now`; `origin` may be a device the server does not know.
    fn record_relay(
        &self,
        carrier: DeviceId,
        origin: DeviceId,
        outcome: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every relay count, by origin, carrier and outcome.
    fn relays(&self) -> impl Future<Output = Result<Vec<RelayRecord>, StoreError>> + Send;

    /// The next page of changes in `scope` (and campaign-wide ones) after
    /// `after`, leaving out `device`'s own, at most `limit` changes and
    /// about `max_bytes` of records.
    fn pull(
        &self,
        scope: String,
        device: DeviceId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// Writes the office's changes (one transaction; all or nothing).
    fn office_write(
        &self,
        writes: Vec<OfficeWrite>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Change>, OfficeError>> + Send;

    /// Stores a new enrolment code.
    fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Enrolment codes not used and not expired at `now`, oldest first.
    fn pending_codes(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Vec<PendingCode>, StoreError>> + Send;

    /// Makes a pending code stop working now; false if there is no such
    /// pending code.
    fn cancel_code(
        &self,
        code_hash: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// An enrolled tablet by id, revoked ones included (the office's own
    /// id: none).
    fn device(&self, id: DeviceId) -> impl Future<Output = Result<Option<DeviceRecord>, StoreError>> + Send;

    /// Stores a tablet's Ed25519 public key (64 lower-case hex digits) if
    /// it has none yet; a tablet's key is never replaced.
    fn register_key(
        &self,
        device: DeviceId,
        public_key: String,
    ) -> impl Future<Output = Result<KeyRegistered, StoreError>> + Send;

    /// Every enrolled device.
    fn devices(&self) -> impl Future<Output = Result<Vec<DeviceRecord>, StoreError>> + Send;

    /// Revokes a device (its token stops working); with `erase`, also asks
    /// it to erase its data at its next contact. Revoking again keeps the
    /// first time, and may add the erase to a plain revoke. False if there
    /// is no such device.
    fn revoke(
        &self,
        device: DeviceId,
        erase: bool,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a tablet's report that it erased its data as asked, with
    /// the changes it had not sent: only for a device whose erase was
    /// asked, and only the first report (see [`erased_time`] for the time
    /// kept).
    fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<EraseAck, StoreError>> + Send;

    /// Every entity of a kind, with its state.
    fn entities(&self, kind: EntityKind) -> impl Future<Output = Result<Vec<(Uuid, Known)>, StoreError>> + Send;

    /// Number of changes in the log.
    fn change_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records the pack versions about to be handed out and returns every
    /// version ever handed out (ordered by key and version), since a run in
    /// progress may still use an old one. A version already recorded with
    /// other steps is refused with the reason (see `pack_catalog`), and
    /// nothing is recorded.
    fn record_packs(
        &self,
        packs: Vec<PackFile>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Result<Vec<PackFile>, String>, StoreError>> + Send;

    /// The overview's figures for the filter (see `report`).
    fn overview(&self, filter: Filter) -> impl Future<Output = Result<Overview, StoreError>> + Send;

    /// Households with a follow-up due or never visited: the walking list.
    fn walking_list(&self, filter: Filter) -> impl Future<Output = Result<Vec<WalkStop>, StoreError>> + Send;

    /// Open conflicts in the filter's communes.
    fn conflicts(&self, filter: Filter) -> impl Future<Output = Result<Vec<ConflictRow>, StoreError>> + Send;

    /// One entity's kind, scope and state.
    fn entity(&self, id: Uuid) -> impl Future<Output = Result<Option<Known>, StoreError>> + Send;

    /// Households reached through a neighbour and the longest chains.
    fn peer_spread(&self, filter: Filter) -> impl Future<Output = Result<PeerSpread, StoreError>> + Send;

    /// Every visit of the filter, for the exports: by commune, village and
    /// local start time.
    fn visit_rows(&self, filter: Filter) -> impl Future<Output = Result<Vec<VisitRow>, StoreError>> + Send;

    /// Every checklist run of the filter (dates apply to the run's start),
    /// for the exports: by commune, village, household and person.
    fn run_rows(&self, filter: Filter) -> impl Future<Output = Result<Vec<RunRow>, StoreError>> + Send;
}

/// An error with its causes ("error connecting to server: Connection
/// refused"; "db error: ERROR: permission denied for table device"), since
/// the pool's and the driver's own messages name only the outermost.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
