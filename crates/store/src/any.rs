//! The store a `--db` names: a SQLite file (the default) or a
//! `postgres://` URL. One type for the binary, so every command and the
//! server are built once and run on either.

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::EntityKind;
use uuid::Uuid;

use super::accounts::{Account, Accounts, Session};
use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{
    DeviceRecord, EnrollError, Enrolled, EraseAck, KeyRegistered, NewCode, OfficeError, Page, PendingCode, Pushed,
    RelayRecord, Store, StoreError,
};
use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::OfficeWrite;
use doorstep_ingest::{Known, Refusal};

/// Either store.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

/// The file `db` names when it is a SQLite database (a path, optionally
/// `sqlite://`), or `None` for a PostgreSQL URL.
pub fn sqlite_path(db: &str) -> Option<std::path::PathBuf> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return None;
    }
    Some(std::path::PathBuf::from(db.strip_prefix("sqlite://").unwrap_or(db)))
}

impl AnyStore {
    /// Opens what `db` names: `postgres://` or `postgresql://` URLs go to
    /// PostgreSQL; anything else (optionally `sqlite://`) is a SQLite file
    /// path, created if missing.
    pub async fn open(db: &str) -> Result<AnyStore, StoreError> {
        AnyStore::open_keyed(db, None).await
    }

    /// Opens what `db` names as [`AnyStore::open`] does; a SQLite file is
    /// encrypted under the key in `key_file` when one is named
    /// ([`SqliteStore::open_keyed`]). PostgreSQL encrypts at rest on its own
    /// terms (the disk, the provider), so a key file for it is refused.
    pub async fn open_keyed(db: &str, key_file: Option<&std::path::Path>) -> Result<AnyStore, StoreError> {
        let Some(path) = sqlite_path(db) else {
            if key_file.is_some() {
                return Err(StoreError::Refused(
                    "--db-key-file encrypts a SQLite office database; a PostgreSQL database is encrypted at rest by its own server or disk (see docs/office-database.md)".to_owned(),
                ));
            }
            return Ok(AnyStore::Postgres(PgStore::open(db).await?));
        };
        let key_file = key_file.map(std::path::Path::to_owned);
        let opened = tokio::task::spawn_blocking(move || SqliteStore::open_keyed(&path, key_file.as_deref()))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(AnyStore::Sqlite(opened))
    }

    /// A consistent copy of the office database in `out`, while it
    /// serves: a SQLite file (`VACUUM INTO`), or a `pg_dump` of one
    /// snapshot of a PostgreSQL database (restored with `pg_restore`).
    pub async fn backup(&self, out: &std::path::Path) -> Result<super::BackupTaken, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.backup(out).await,
            AnyStore::Postgres(p) => p.backup(out).await,
        }
    }

    /// Which store, for logs and the health page.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Calls the same method on whichever store it is.
macro_rules! either {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(p) => p.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    fn token_key(&self) -> &TokenKey {
        match self {
            AnyStore::Sqlite(s) => s.token_key(),
            AnyStore::Postgres(p) => p.token_key(),
        }
    }

    fn epochs(&self) -> doorstep_ingest::epoch::Epochs {
        match self {
            AnyStore::Sqlite(s) => s.epochs(),
            AnyStore::Postgres(p) => p.epochs(),
        }
    }

    async fn newest_backup(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        either!(self.newest_backup())
    }

    async fn reload_epochs(&self) -> Result<doorstep_ingest::epoch::Epochs, StoreError> {
        either!(self.reload_epochs())
    }

    async fn rewound(&self, device: DeviceId, acked_seq: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        either!(self.rewound(device, acked_seq, now))
    }

    fn office_device(&self) -> DeviceId {
        match self {
            AnyStore::Sqlite(s) => s.office_device(),
            AnyStore::Postgres(p) => p.office_device(),
        }
    }

    async fn enroll(
        &self,
        code_hash: String,
        token_hash: String,
        label: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Enrolled, EnrollError> {
        either!(self.enroll(code_hash, token_hash, label, now))
    }

    async fn device_by_token(&self, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
        either!(self.device_by_token(token_hash))
    }

    async fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        either!(self.push(device, acked_seq, changes, now))
    }

    async fn push_carried(
        &self,
        origin: DeviceId,
        carrier: DeviceId,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        either!(self.push_carried(origin, carrier, changes, now))
    }

    async fn record_relay(
        &self,
        carrier: DeviceId,
        origin: DeviceId,
        outcome: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        either!(self.record_relay(carrier, origin, outcome, now))
    }

    async fn relays(&self) -> Result<Vec<RelayRecord>, StoreError> {
        either!(self.relays())
    }

    async fn pull(
        &self,
        scope: String,
        device: DeviceId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        either!(self.pull(scope, device, after, limit, max_bytes))
    }

    async fn office_write(&self, writes: Vec<OfficeWrite>, now: DateTime<Utc>) -> Result<Vec<Change>, OfficeError> {
        either!(self.office_write(writes, now))
    }

    async fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
        either!(self.add_enrol_code(code, now))
    }

    async fn pending_codes(&self, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
        either!(self.pending_codes(now))
    }

    async fn cancel_code(&self, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
        either!(self.cancel_code(code_hash, now))
    }

    async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        either!(self.device(id))
    }

    async fn register_key(&self, device: DeviceId, public_key: String) -> Result<KeyRegistered, StoreError> {
        either!(self.register_key(device, public_key))
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        either!(self.devices())
    }

    async fn revoke(&self, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        either!(self.revoke(device, erase, now))
    }

    async fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EraseAck, StoreError> {
        either!(self.record_erased(device, unsent, reported_at, now))
    }

    async fn entities(&self, kind: EntityKind) -> Result<Vec<(Uuid, Known)>, StoreError> {
        either!(self.entities(kind))
    }

    async fn change_count(&self) -> Result<u64, StoreError> {
        either!(self.change_count())
    }

    async fn record_packs(
        &self,
        packs: Vec<PackFile>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<PackFile>, String>, StoreError> {
        either!(self.record_packs(packs, now))
    }

    async fn overview(&self, filter: Filter) -> Result<Overview, StoreError> {
        either!(self.overview(filter))
    }

    async fn walking_list(&self, filter: Filter) -> Result<Vec<WalkStop>, StoreError> {
        either!(self.walking_list(filter))
    }

    async fn conflicts(&self, filter: Filter) -> Result<Vec<ConflictRow>, StoreError> {
        either!(self.conflicts(filter))
    }

    async fn entity(&self, id: Uuid) -> Result<Option<Known>, StoreError> {
        either!(self.entity(id))
    }

    async fn peer_spread(&self, filter: Filter) -> Result<PeerSpread, StoreError> {
        either!(self.peer_spread(filter))
    }

    async fn visit_rows(&self, filter: Filter) -> Result<Vec<VisitRow>, StoreError> {
        either!(self.visit_rows(filter))
    }

    async fn run_rows(&self, filter: Filter) -> Result<Vec<RunRow>, StoreError> {
        either!(self.run_rows(filter))
    }
}

impl Accounts for AnyStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        either!(self.accounts())
    }

    async fn set_password(&self, member_id: String, hash: String, now: DateTime<Utc>) -> Result<(), StoreError> {
        either!(self.set_password(member_id, hash, now))
    }

    async fn password_hash(&self, member_id: String) -> Result<Option<String>, StoreError> {
        either!(self.password_hash(member_id))
    }

    async fn start_session(&self, token_hash: String, session: Session, now: DateTime<Utc>) -> Result<(), StoreError> {
        either!(self.start_session(token_hash, session, now))
    }

    async fn session(&self, token_hash: String, now: DateTime<Utc>) -> Result<Option<Session>, StoreError> {
        either!(self.session(token_hash, now))
    }

    async fn end_session(&self, token_hash: String) -> Result<(), StoreError> {
        either!(self.end_session(token_hash))
    }
}
