//! The SQLite store: the zero-setup default for a commune office.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time
//! anyway) and a few reader connections; WAL lets pulls read while a push
//! writes. `synchronous = FULL`: once the server has answered a push, the
//! device forgets nothing it could resend, so an acknowledged change must
//! survive a power cut. Blocking work runs on tokio's blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use doorstep_core::change::Change;
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::EntityKind;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use uuid::Uuid;

use super::{
    DeviceRecord, EnrollError, Enrolled, EraseAck, KeyRegistered, NewCode, OfficeError, Page, PendingCode, Pushed,
    RelayRecord, Store, StoreError, Via, schema,
};
use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::OfficeWrite;
use doorstep_ingest::epoch::Epochs;
use doorstep_ingest::{Known, Refusal};

/// Marks a Doorstep server database (`PRAGMA application_id`, "DSRV").
const APPLICATION_ID: i64 = 0x4453_5256;

mod accounts;
mod backup;
mod cipher;
mod devices;
mod health;
mod packs;
mod quarantine;
mod relay;
mod report;
mod rewind;
mod start;
mod sync;

pub use super::BackupTaken;
pub use backup::Restored;

/// The schema, in order (see `store::schema`); PostgreSQL has the same
/// numbers in its dialect.
const MIGRATIONS: &[(&str, &str)] = crate::schema::SQLITE;

/// How many `?` a statement gets at most when loading by id.
const CHUNK: usize = 400;

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The database's SQLCipher key, for an encrypted office database.
    db_key: Option<doorstep_cipher::DbKey>,
    key: TokenKey,
    /// As last read: office writes read the database's own in their
    /// transaction (`rewind::office_id`).
    office: RwLock<DeviceId>,
    epochs: RwLock<Epochs>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock left SQLite's own state consistent
    // (the transaction rolled back when dropped); carry on.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(())
}

fn text_id(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(super) fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn damaged(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged(format!("{what}: {e}"))
}

impl SqliteStore {
    /// Opens the plain database at `path`, creating it (with a new office
    /// identity and token key) if there is none. A file that is not a
    /// Doorstep server database, or one from a newer server, is refused
    /// untouched.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_keyed(path, None)
    }

    /// Opens the database at `path` as [`SqliteStore::open`] does, encrypted
    /// under the key in `key_file` when one is named (see [`cipher`]: a new
    /// database is made encrypted, a plain one encrypted in place).
    pub fn open_keyed(path: &Path, key_file: Option<&Path>) -> Result<SqliteStore, StoreError> {
        let existed = path.exists() && std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
        // Processes starting together on one file take turns to migrate
        // and make the identity: an flock on `<db>.lock`, released when the
        // handle closes at the end of `open`. Never a handle on the database
        // file itself: closing any descriptor of a file drops every POSIX
        // lock the process holds on it, SQLite's included.
        let lock_path = doorstep_cipher::with_suffix(path, ".lock");
        let start_lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| StoreError::Refused(format!("cannot lock {}: {e}", lock_path.display())))?;
        let db_key = cipher::prepare(path, existed, key_file)?;
        let mut conn = Connection::open(path)?;
        cipher::apply(&conn, db_key.as_ref())?;
        if existed {
            cipher::check_ours(&conn, path, key_file)?;
        }
        configure(&conn)?;
        // Marked first, so a start interrupted while migrating is still
        // recognised as ours next time.
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        let runner = schema::runner(MIGRATIONS)?;
        if start::adopt_user_version(&conn)? {
            let applied = runner
                .get_applied_migrations(&mut conn)
                .map_err(schema::migration_error)?;
            schema::refuse_newer(&applied, MIGRATIONS.len(), &path.display().to_string())?;
        }
        schema::log_applied(&runner.run(&mut conn).map_err(schema::migration_error)?);
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if report::build_if_missing(&tx)? {
                tracing::info!("report tables built from the change log");
            }
            tx.commit()?;
        }
        let (key, office) = start::identity(&mut conn)?;
        let epochs = start::load_epochs(&mut conn)?;
        drop(start_lock);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                db_key,
                key,
                office: RwLock::new(office),
                epochs: RwLock::new(epochs),
            }),
        })
    }

    /// Runs `f` on the writer connection, off the async runtime.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Inner) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.writer);
            f(&mut conn, &inner)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))
    }

    /// Runs `f` on a reader connection, off the async runtime.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let taken = lock(&inner.readers).pop();
            let mut conn = match taken {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    cipher::apply(&c, inner.db_key.as_ref())?;
                    c.busy_timeout(std::time::Duration::from_secs(30))?;
                    c
                }
            };
            let out = f(&mut conn);
            lock(&inner.readers).push(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

impl SqliteStore {
    /// A consistent copy of the database in `out`, while it serves
    /// (`backup` module docs); encrypted under the office's key if the
    /// database is.
    pub async fn backup(&self, out: &Path) -> Result<BackupTaken, StoreError> {
        let out = out.to_owned();
        let key = self.inner.db_key.clone();
        let taken = self.read(move |conn| backup::take(conn, &out, key.as_ref())).await?;
        let key = self.inner.db_key.clone();
        let file = taken.path.clone();
        let held = tokio::task::spawn_blocking(move || backup::coverage(&file, key.as_ref()))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let recorded = taken.clone();
        self.write(move |conn, _| backup::record(conn, &recorded, &held))
            .await??;
        Ok(taken)
    }

    /// Checks that `file` is a backup this office could restore (with the
    /// key in `key_file`, if the office is encrypted): its epoch and newest
    /// server seq.
    pub fn check_backup(file: &Path, key_file: Option<&Path>) -> Result<(String, u64), StoreError> {
        backup::check_file(file, cipher::required(key_file)?.as_ref())
    }

    /// Reads the health of the database at `path` for `doorstep-server
    /// doctor`, changing nothing (see `health`).
    pub fn health(path: &Path, key_file: Option<&Path>) -> Result<crate::health::DatabaseHealth, StoreError> {
        health::inspect(path, key_file)
    }

    /// Restores the backup `from` in place of the database at `db` and
    /// starts a new epoch. The backup is checked first (a bad one is named
    /// even while a server runs); then no server may have `db` open (the
    /// exclusive [`serving_lock`]). A refused restore changes nothing.
    pub fn restore(db: &Path, from: &Path, key_file: Option<&Path>) -> Result<Restored, StoreError> {
        let key = cipher::required(key_file)?;
        let (_, server_seq) = backup::check_file(from, key.as_ref())?;
        let _exclusive = serving_lock(db, true)?;
        let replaced_kept_at = backup::put_in_place(db, from, key.as_ref())?;
        // Bring an older backup's schema up to this server's (an epoch
        // table, a first epoch), then start the restored history's epoch.
        drop(SqliteStore::open_keyed(db, key_file)?);
        let mut conn =
            Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        cipher::apply(&conn, key.as_ref())?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let (old_epoch, new_epoch) = backup::start_epoch(&mut conn, server_seq)?;
        Ok(Restored {
            from: from.to_owned(),
            replaced_kept_at,
            old_epoch,
            new_epoch,
            server_seq,
        })
    }
}

/// Held by every `serve` on a SQLite file for as long as it runs (a shared
/// lock on `<db>.serving`); `restore` takes it exclusively, so it never
/// replaces a database a server has open. `exclusive` without waiting.
pub fn serving_lock(db: &Path, exclusive: bool) -> Result<std::fs::File, StoreError> {
    let path = doorstep_cipher::with_suffix(db, ".serving");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Refused(format!("cannot lock {}: {e}", path.display())))?;
    let locked = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match locked {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) if exclusive => Err(StoreError::Refused(format!(
            "a doorstep-server is serving {}; stop it first (the restore replaces the file it has open)",
            db.display()
        ))),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Refused(format!(
            "{} is being restored; start the server when the restore has finished",
            db.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::Refused(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

impl Store for SqliteStore {
    fn token_key(&self) -> &TokenKey {
        &self.inner.key
    }

    fn epochs(&self) -> Epochs {
        self.inner.epochs.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn office_device(&self) -> DeviceId {
        *self.inner.office.read().unwrap_or_else(PoisonError::into_inner)
    }

    async fn newest_backup(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let at: Option<String> = conn.query_row("SELECT max(taken_at) FROM backup", [], |r| r.get(0))?;
            at.map(|t| doorstep_core::schema::parse_timestamp(&t).map_err(|e| damaged("backup.taken_at", e)))
                .transpose()
        })
        .await
    }

    async fn reload_epochs(&self) -> Result<Epochs, StoreError> {
        self.write(|conn, inner| -> Result<Epochs, StoreError> {
            let epochs = start::load_epochs(conn)?;
            let office = rewind::office_id(conn)?;
            *inner.epochs.write().unwrap_or_else(PoisonError::into_inner) = epochs.clone();
            *inner.office.write().unwrap_or_else(PoisonError::into_inner) = office;
            Ok(epochs)
        })
        .await?
    }

    async fn rewound(&self, device: DeviceId, acked_seq: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let started = self
            .write(move |conn, _| rewind::rewound(conn, device, acked_seq, now))
            .await??;
        if started {
            self.reload_epochs().await?;
        }
        Ok(started)
    }

    async fn enroll(
        &self,
        code_hash: String,
        token_hash: String,
        label: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Enrolled, EnrollError> {
        self.write(move |conn, _| devices::enroll(conn, code_hash, token_hash, label, now))
            .await?
    }

    async fn device_by_token(&self, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
        self.read(move |conn| devices::device_by_token(conn, token_hash)).await
    }

    async fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        self.write(move |conn, _| sync::push(conn, device, Via::Own { acked_seq }, changes, now))
            .await?
    }

    async fn push_carried(
        &self,
        origin: DeviceId,
        carrier: DeviceId,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        self.write(move |conn, _| sync::push(conn, origin, Via::Carried { carrier }, changes, now))
            .await?
    }

    async fn record_relay(
        &self,
        carrier: DeviceId,
        origin: DeviceId,
        outcome: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(move |conn, _| relay::record(conn, carrier, origin, &outcome, now))
            .await?
    }

    async fn relays(&self) -> Result<Vec<RelayRecord>, StoreError> {
        self.read(|conn| relay::relays(conn)).await
    }

    async fn pull(
        &self,
        scope: String,
        device: DeviceId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        self.read(move |conn| sync::pull_page(conn, &scope, device, after, limit, max_bytes))
            .await
    }

    async fn office_write(&self, writes: Vec<OfficeWrite>, now: DateTime<Utc>) -> Result<Vec<Change>, OfficeError> {
        self.write(move |conn, _| sync::office_write(conn, writes, now)).await?
    }

    async fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn, _| devices::add_enrol_code(conn, code, now))
            .await?
    }

    async fn pending_codes(&self, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
        self.read(move |conn| devices::pending_codes(conn, now)).await
    }

    async fn cancel_code(&self, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(move |conn, _| devices::cancel_code(conn, code_hash, now))
            .await?
    }

    async fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        self.read(move |conn| devices::device(conn, id)).await
    }

    async fn register_key(&self, device: DeviceId, public_key: String) -> Result<KeyRegistered, StoreError> {
        self.write(move |conn, _| devices::register_key(conn, device, &public_key))
            .await?
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read(|conn| devices::devices(conn)).await
    }

    async fn revoke(&self, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(move |conn, _| devices::revoke(conn, device, erase, now))
            .await?
    }

    async fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EraseAck, StoreError> {
        self.write(move |conn, _| devices::record_erased(conn, device, unsent, reported_at, now))
            .await?
    }

    async fn entities(&self, kind: EntityKind) -> Result<Vec<(Uuid, Known)>, StoreError> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, kind, scope, state FROM entity WHERE kind = ?1 ORDER BY id")?;
            let mut rows = stmt.query([kind.as_str()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(sync::known_row(row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn change_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(u64_of(
                conn.query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))?,
            ))
        })
        .await
    }

    async fn record_packs(
        &self,
        packs: Vec<PackFile>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<PackFile>, String>, StoreError> {
        self.write(move |conn, _| packs::record_packs(conn, packs, now)).await?
    }

    async fn overview(&self, filter: Filter) -> Result<Overview, StoreError> {
        self.read(move |conn| report::overview(conn, &filter)).await
    }

    async fn walking_list(&self, filter: Filter) -> Result<Vec<WalkStop>, StoreError> {
        self.read(move |conn| report::walking_list(conn, &filter)).await
    }

    async fn conflicts(&self, filter: Filter) -> Result<Vec<ConflictRow>, StoreError> {
        self.read(move |conn| report::conflicts(conn, &filter)).await
    }

    async fn entity(&self, id: Uuid) -> Result<Option<Known>, StoreError> {
        self.read(move |conn| {
            Ok(report::entity(conn, &text_id(id))?.map(|(kind, scope, state)| Known { kind, scope, state }))
        })
        .await
    }

    async fn peer_spread(&self, filter: Filter) -> Result<PeerSpread, StoreError> {
        self.read(move |conn| report::peer_spread(conn, &filter)).await
    }

    async fn visit_rows(&self, filter: Filter) -> Result<Vec<VisitRow>, StoreError> {
        self.read(move |conn| report::visit_rows(conn, &filter)).await
    }

    async fn run_rows(&self, filter: Filter) -> Result<Vec<RunRow>, StoreError> {
        self.read(move |conn| report::run_rows(conn, &filter)).await
    }
}

/// Entities by id, for callers that need a few.
pub fn index(entities: Vec<(Uuid, Known)>) -> HashMap<Uuid, Known> {
    entities.into_iter().collect()
}
