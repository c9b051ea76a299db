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
use doorstep_core::hlc::{Hlc, HlcClock, wall_millis};
use doorstep_core::ids::DeviceId;
use doorstep_core::protocol::{PackFile, Rejected, Restamp};
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params_from_iter};
use uuid::Uuid;

use super::{
    DeviceRecord, EnrollError, Enrolled, EraseAck, NewCode, OfficeError, Page, PendingCode, Pushed, Store, StoreError,
    schema,
};
use crate::auth::TokenKey;
use crate::report::{ConflictRow, Filter, Overview, PeerSpread, RunRow, VisitRow, WalkStop};
use doorstep_ingest::entity_state;
use doorstep_ingest::epoch::{Epoch, Epochs};
use doorstep_ingest::pack_catalog::{self, Record};
use doorstep_ingest::{self as ingest, Known, Loaded, Plan, Pusher, Refusal};
use doorstep_ingest::{OfficeDraft, OfficeWrite};

/// Marks a Doorstep server database (`PRAGMA application_id`, "DSRV").
const APPLICATION_ID: i64 = 0x4453_5256;

mod accounts;
mod backup;
mod cipher;
mod health;
mod quarantine;
mod rewind;

pub use super::BackupTaken;
pub use backup::Restored;
mod report;

/// The schema, in order (see `store::schema`); PostgreSQL has the same
/// numbers in its dialect.
const MIGRATIONS: &[(&str, &str)] = &[
    ("V1__initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
    (
        "V2__pack_version",
        include_str!("../../migrations/sqlite/0002_pack_version.sql"),
    ),
    ("V3__report", include_str!("../../migrations/sqlite/0003_report.sql")),
    (
        "V4__dashboard",
        include_str!("../../migrations/sqlite/0004_dashboard.sql"),
    ),
    (
        "V5__device_erase",
        include_str!("../../migrations/sqlite/0005_device_erase.sql"),
    ),
    ("V6__epoch", include_str!("../../migrations/sqlite/0006_epoch.sql")),
    (
        "V7__quarantine",
        include_str!("../../migrations/sqlite/0007_quarantine.sql"),
    ),
    ("V8__backup", include_str!("../../migrations/sqlite/0008_backup.sql")),
];

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
        if adopt_user_version(&conn)? {
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
        let (key, office) = identity(&mut conn)?;
        let epochs = load_epochs(&mut conn)?;
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

/// Servers before refinery kept the schema version in `user_version`
/// (rusqlite_migration): record those migrations as applied, with the
/// checksums refinery gives the same files, so refinery carries on from
/// there. Done once; the history table then exists. True if it exists.
fn adopt_user_version(conn: &Connection) -> Result<bool, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_history: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [schema::HISTORY],
        |r| r.get(0),
    )?;
    if has_history {
        return Ok(true);
    }
    if version <= 0 {
        return Ok(false);
    }
    let known = usize::try_from(version).unwrap_or(usize::MAX);
    if known > MIGRATIONS.len() {
        return Err(StoreError::Refused(format!(
            "this database was written by a newer doorstep-server (schema {version}, this one knows {}); update the server",
            MIGRATIONS.len()
        )));
    }
    let applied_on = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(&format!(
        "CREATE TABLE {h} (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));",
        h = schema::HISTORY
    ))?;
    for (n, (name, sql)) in MIGRATIONS.iter().take(known).enumerate() {
        let m = refinery_core::Migration::unapplied(name, sql).map_err(schema::migration_error)?;
        tx.execute(
            &format!(
                "INSERT INTO {} (version, name, applied_on, checksum) VALUES (?1, ?2, ?3, ?4)",
                schema::HISTORY
            ),
            (n + 1, m.name(), &applied_on, m.checksum().to_string()),
        )?;
    }
    tx.execute_batch("PRAGMA user_version = 0")?;
    tx.commit()?;
    Ok(true)
}

/// Reads (or on first start makes) the office's device id and token key.
fn identity(conn: &mut Connection) -> Result<(TokenKey, DeviceId), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let get = |key: &str| -> rusqlite::Result<Option<String>> {
        tx.query_row("SELECT value FROM server_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    let key = match get("token_key")? {
        Some(hex) => TokenKey::from_hex(&hex).ok_or_else(|| damaged("server_meta.token_key", "not 64 hex digits"))?,
        None => {
            let key = TokenKey::generate().map_err(|e| StoreError::Task(e.to_string()))?;
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('token_key', ?1)",
                [key.to_hex()],
            )?;
            key
        }
    };
    let office = match get("office_device")? {
        Some(id) => id.parse().map_err(|e| damaged("server_meta.office_device", e))?,
        None => {
            let id = DeviceId::new();
            tx.execute(
                "INSERT INTO server_meta (key, value) VALUES ('office_device', ?1)",
                [id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO device (id, label, enrolled_at) VALUES (?1, 'office', ?2)",
                (id.to_string(), format_timestamp(Utc::now())),
            )?;
            id
        }
    };
    tx.commit()?;
    Ok((key, office))
}

/// The database's epochs (`doorstep_ingest::epoch`), making the first on first start.
pub(super) fn load_epochs(conn: &mut Connection) -> Result<Epochs, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<String> = tx
        .query_row("SELECT value FROM server_meta WHERE key = 'epoch'", [], |r| r.get(0))
        .optional()?;
    let current = match current {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7().hyphenated().to_string();
            tx.execute(
                "INSERT INTO epoch (id, parent, base_seq, started_at) VALUES (?1, NULL, 0, ?2)",
                (&id, format_timestamp(Utc::now())),
            )?;
            tx.execute("INSERT INTO server_meta (key, value) VALUES ('epoch', ?1)", [&id])?;
            id
        }
    };
    let all = {
        let mut stmt = tx.prepare("SELECT id, parent, base_seq, started_at FROM epoch ORDER BY started_at, id")?;
        stmt.query_map([], |r| {
            Ok(Epoch {
                id: r.get(0)?,
                parent: r.get(1)?,
                base_seq: u64_of(r.get(2)?),
                started_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    if !all.iter().any(|e| e.id == current) {
        return Err(damaged("server_meta.epoch", "names no epoch in the epoch table"));
    }
    tx.commit()?;
    Ok(Epochs::new(current, all))
}

fn clock(tx: &Transaction<'_>) -> rusqlite::Result<HlcClock> {
    let last: Option<String> = tx
        .query_row("SELECT value FROM server_meta WHERE key = 'hlc_last'", [], |r| r.get(0))
        .optional()?;
    let last = last.and_then(|t| t.parse::<Hlc>().ok()).unwrap_or(Hlc::ZERO);
    Ok(HlcClock::resume(last))
}

fn save_clock(tx: &Transaction<'_>, clock: &HlcClock) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO server_meta (key, value) VALUES ('hlc_last', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [clock.last().to_string()],
    )?;
    Ok(())
}

/// Loads the entities and restamps a batch needs.
fn load(
    tx: &Transaction<'_>,
    pusher: &Pusher,
    needs: &ingest::Needs,
    has_restamps: bool,
) -> Result<Loaded, StoreError> {
    let mut loaded = Loaded::default();
    for chunk in needs.entities.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT id, kind, scope, state FROM entity WHERE id IN ({marks})"
        ))?;
        let ids = chunk.iter().map(|id| text_id(*id));
        let mut rows = stmt.query(params_from_iter(ids))?;
        while let Some(row) = rows.next()? {
            let (id, known) = known_row(row)?;
            loaded.entities.insert(id, known);
        }
    }
    if has_restamps {
        for chunk in needs.own_bases.chunks(CHUNK) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT was, hlc FROM restamp WHERE device_id = ?1 AND was IN ({marks})"
            ))?;
            // Stamps are compared as integers: bind them as such.
            let mut values = vec![rusqlite::types::Value::Text(pusher.device.to_string())];
            values.extend(
                chunk
                    .iter()
                    .map(|h| rusqlite::types::Value::Integer(i64_of(h.as_u64()))),
            );
            let mut rows = stmt.query(params_from_iter(values))?;
            while let Some(row) = rows.next()? {
                let was: i64 = row.get(0)?;
                let hlc: i64 = row.get(1)?;
                loaded
                    .restamps
                    .insert(Hlc::from_u64(u64_of(was)), Hlc::from_u64(u64_of(hlc)));
            }
        }
    }
    for chunk in needs.logged_seqs.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT seq, body FROM change_log WHERE device_id = ?1 AND seq IN ({marks})"
        ))?;
        let mut values = vec![rusqlite::types::Value::Text(pusher.device.to_string())];
        values.extend(chunk.iter().map(|s| rusqlite::types::Value::Integer(i64_of(*s))));
        let mut rows = stmt.query(params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let body: String = row.get(1)?;
            let change: Change =
                serde_json::from_str(&body).map_err(|e| damaged(&format!("change_log body of seq {seq}"), e))?;
            loaded.logged.insert(u64_of(seq), change);
        }
    }
    Ok(loaded)
}

fn known_row(row: &rusqlite::Row<'_>) -> Result<(Uuid, Known), StoreError> {
    let id: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let scope: String = row.get(2)?;
    let state: String = row.get(3)?;
    let id = Uuid::parse_str(&id).map_err(|e| damaged("entity.id", e))?;
    let kind = kind.parse::<EntityKind>().map_err(|e| damaged("entity.kind", e))?;
    let state = entity_state::from_json(&state).map_err(|e| damaged(&format!("entity {id}"), e))?;
    Ok((id, Known { kind, scope, state }))
}

/// Writes a plan: log entries, entity states, rejections, restamps and the
/// device's position.
fn write_plan(tx: &Transaction<'_>, device: DeviceId, plan: &Plan, now: &str) -> Result<(), StoreError> {
    let dev = device.to_string();
    {
        let mut log = tx.prepare_cached(
            "INSERT INTO change_log (change_id, device_id, seq, scope, entity, entity_id, body, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for a in &plan.accepted {
            let body = serde_json::to_string(&a.change).map_err(|e| StoreError::Task(e.to_string()))?;
            log.execute((
                a.change.id.to_string(),
                &dev,
                i64_of(a.change.seq),
                &a.scope,
                a.change.entity.as_str(),
                text_id(a.change.entity_id),
                body,
                now,
            ))?;
        }
        let mut put = tx.prepare_cached(
            "INSERT INTO entity (id, kind, scope, state) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET scope = excluded.scope, state = excluded.state",
        )?;
        for (id, known) in &plan.entities {
            put.execute((
                text_id(*id),
                known.kind.as_str(),
                &known.scope,
                entity_state::to_json(&known.state),
            ))?;
        }
        let mut reject =
            tx.prepare_cached("INSERT OR REPLACE INTO rejected (device_id, seq, reason, at) VALUES (?1, ?2, ?3, ?4)")?;
        for r in &plan.rejected {
            reject.execute((&dev, i64_of(r.seq), &r.reason, now))?;
        }
        let mut restamp =
            tx.prepare_cached("INSERT OR REPLACE INTO restamp (device_id, seq, was, hlc) VALUES (?1, ?2, ?3, ?4)")?;
        for r in &plan.restamped {
            restamp.execute((&dev, i64_of(r.seq), i64_of(r.was.as_u64()), i64_of(r.hlc.as_u64())))?;
        }
    }
    tx.execute(
        "UPDATE device SET last_applied_seq = ?1, last_seen_at = ?2, restamps = restamps + ?3 WHERE id = ?4",
        (i64_of(plan.last_applied), now, plan.restamped.len(), &dev),
    )?;
    report::project(tx, plan)
}

struct DeviceRow {
    last_applied: u64,
    commune: Option<String>,
    restamps: i64,
}

/// Records when a tablet that pushed nothing last synced, after its
/// answer is read: bookkeeping a full disk may refuse without failing the
/// pull the tablet came for (SQLite reads work on a full disk).
fn touch_last_seen(conn: &Connection, device: DeviceId, now: &str) -> Result<(), StoreError> {
    match conn.execute(
        "UPDATE device SET last_seen_at = ?1 WHERE id = ?2",
        (now, device.to_string()),
    ) {
        Ok(_) => Ok(()),
        Err(e) => match StoreError::from(e) {
            StoreError::DiskFull(detail) => {
                tracing::warn!(%device, %detail, "the disk is full: this tablet's last sync time is not recorded");
                Ok(())
            }
            other => Err(other),
        },
    }
}

fn device_row(tx: &Transaction<'_>, device: DeviceId) -> Result<Option<DeviceRow>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT last_applied_seq, commune_id, restamps FROM device WHERE id = ?1",
            [device.to_string()],
            |r| {
                Ok(DeviceRow {
                    last_applied: u64_of(r.get(0)?),
                    commune: r.get(1)?,
                    restamps: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Everything that happened to the device's seqs above `acked`.
fn outcomes_since(
    tx: &Transaction<'_>,
    device: DeviceId,
    acked: u64,
    with_restamps: bool,
) -> Result<(Vec<Rejected>, Vec<Restamp>), StoreError> {
    let dev = device.to_string();
    let rejected = tx
        .prepare_cached("SELECT seq, reason FROM rejected WHERE device_id = ?1 AND seq > ?2 ORDER BY seq")?
        .query_map((&dev, i64_of(acked)), |r| {
            Ok(Rejected {
                seq: u64_of(r.get(0)?),
                reason: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let restamped = if with_restamps {
        tx.prepare_cached("SELECT seq, was, hlc FROM restamp WHERE device_id = ?1 AND seq > ?2 ORDER BY seq")?
            .query_map((&dev, i64_of(acked)), |r| {
                Ok(Restamp {
                    seq: u64_of(r.get(0)?),
                    was: Hlc::from_u64(u64_of(r.get(1)?)),
                    hlc: Hlc::from_u64(u64_of(r.get(2)?)),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok((rejected, restamped))
}

fn device_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, DeviceRecord)> {
    let id: String = r.get(0)?;
    let member: Option<String> = r.get(2)?;
    Ok((
        id.clone(),
        DeviceRecord {
            id: id.parse().unwrap_or_default(),
            label: r.get(1)?,
            member_id: member.and_then(|m| Uuid::parse_str(&m).ok()),
            commune_id: r.get(3)?,
            enrolled_at: r.get(4)?,
            last_seen_at: r.get(5)?,
            last_applied_seq: u64_of(r.get(6)?),
            revoked_at: r.get(7)?,
            erase_requested_at: r.get(8)?,
            erased_at: r.get(9)?,
            erased_unsent: r.get::<_, Option<i64>>(10)?.map(u64_of),
            backed_up_seq: r.get::<_, Option<i64>>(11)?.map(u64_of),
            copied_kept: 0,
            copied_at: None,
        },
    ))
}

/// A row of [`DEVICE_COLUMNS`] then [`COPY_COLUMNS`].
fn listed_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let (_, mut d) = device_record(r)?;
    d.copied_kept = u64_of(r.get(12)?);
    d.copied_at = r.get(13)?;
    Ok(d)
}

const DEVICE_COLUMNS: &str = "id, label, member_id, commune_id, enrolled_at, last_seen_at, last_applied_seq, \
     revoked_at, erase_requested_at, erased_at, erased_unsent, backed_up_seq";

/// The tablets page's columns after [`DEVICE_COLUMNS`]: a copy seen (read
/// by [`listed_device`]; not on the token lookup every request makes).
const COPY_COLUMNS: &str = "(SELECT count(*) FROM quarantine q WHERE q.device_id = device.id), \
     (SELECT min(received_at) FROM quarantine q WHERE q.device_id = device.id)";

/// Every pack version ever handed out, by key and version.
fn pack_versions(tx: &Transaction<'_>) -> Result<Vec<PackFile>, StoreError> {
    let all = tx
        .prepare("SELECT key, version, toml FROM pack_version ORDER BY key, version")?
        .query_map([], |r| {
            Ok(PackFile {
                key: r.get(0)?,
                version: r.get(1)?,
                toml: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(all)
}

fn pull_page(
    conn: &mut Connection,
    scope: &str,
    device: DeviceId,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Page, StoreError> {
    let tx = conn.transaction()?;
    let high: i64 = tx.query_row("SELECT coalesce(max(server_seq), 0) FROM change_log", [], |r| r.get(0))?;
    // A cursor beyond the log's end comes from before a restore from
    // backup: start again (the device drops what it already has).
    let after = if after > u64_of(high) { 0 } else { after };
    let dev = device.to_string();
    // Two index range scans (the commune, then campaign-wide records),
    // merged here: cost follows the page, not the history.
    let mut rows: Vec<(i64, String)> = Vec::new();
    let mut full = false;
    for s in [scope, ingest::CAMPAIGN_WIDE] {
        let mut stmt = tx.prepare_cached(
            "SELECT server_seq, body FROM change_log
             WHERE scope = ?1 AND server_seq > ?2 AND device_id != ?3
             ORDER BY server_seq LIMIT ?4",
        )?;
        let got = stmt
            .query_map((s, i64_of(after), &dev, i64_of(limit as u64 + 1)), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
        full |= got.len() > limit;
        rows.extend(got);
    }
    tx.commit()?;
    super::page_of(rows, after, u64_of(high), full, limit, max_bytes)
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
            let epochs = load_epochs(conn)?;
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
        self.write(move |conn, _| -> Result<Enrolled, EnrollError> {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let now_text = format_timestamp(now);
            let code: Option<(String, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT member_id, commune_id, expires_at, used_at FROM enrol_code WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(StoreError::from)?;
            let Some((member, commune, expires, None)) = code else {
                return Err(EnrollError::BadCode);
            };
            if expires <= now_text {
                return Err(EnrollError::BadCode);
            }
            let device = DeviceId::new();
            tx.execute(
                "INSERT INTO device (id, label, member_id, commune_id, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (device.to_string(), &label, &member, &commune, &token_hash, &now_text),
            )
            .map_err(StoreError::from)?;
            tx.execute(
                "UPDATE enrol_code SET used_at = ?1, device_id = ?2 WHERE code_hash = ?3",
                (&now_text, device.to_string(), &code_hash),
            )
            .map_err(StoreError::from)?;
            let state: Option<String> = tx
                .query_row("SELECT state FROM entity WHERE id = ?1", [&commune], |r| r.get(0))
                .optional()
                .map_err(StoreError::from)?;
            let commune_name = state
                .and_then(|s| entity_state::from_json(&s).ok())
                .and_then(|s| match s.value("name") {
                    Some(FieldValue::Text(t)) => Some(t.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            tx.commit().map_err(StoreError::from)?;
            Ok(Enrolled {
                device_id: device,
                member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
                commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
                commune_name,
            })
        })
        .await?
    }

    async fn device_by_token(&self, token_hash: String) -> Result<Option<DeviceRecord>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = ?1"))?
                .query_row([token_hash], device_record)
                .optional()?
                .map(|(_, d)| d))
        })
        .await
    }

    async fn push(
        &self,
        device: DeviceId,
        acked_seq: u64,
        changes: Vec<Change>,
        now: DateTime<Utc>,
    ) -> Result<Result<Pushed, Refusal>, StoreError> {
        self.write(move |conn, _| -> Result<Result<Pushed, Refusal>, StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(row) = device_row(&tx, device)? else {
                return Ok(Err(Refusal::Forbidden(format!("device {device} is not enrolled"))));
            };
            let pusher = Pusher {
                device,
                scope: row.commune.clone(),
                last_applied: row.last_applied,
            };
            let now_text = format_timestamp(now);
            let pull_only = changes.is_empty();
            let accepted = if pull_only {
                0
            } else {
                let needs = ingest::needs(&pusher, &changes);
                let loaded = load(&tx, &pusher, &needs, row.restamps > 0)?;
                let mut clock = clock(&tx)?;
                let plan = match ingest::plan(&pusher, changes, loaded, &mut clock, wall_millis(now)) {
                    Ok(plan) => plan,
                    Err(refusal) => {
                        if let Refusal::Copied { changes, .. } = &refusal {
                            quarantine::keep(&tx, device, changes, &now_text)?;
                            tx.commit()?;
                        }
                        return Ok(Err(refusal));
                    }
                };
                write_plan(&tx, device, &plan, &now_text)?;
                save_clock(&tx, &clock)?;
                plan.accepted.len()
            };
            let last_applied: i64 = tx.query_row(
                "SELECT last_applied_seq FROM device WHERE id = ?1",
                [device.to_string()],
                |r| r.get(0),
            )?;
            let restamps: i64 =
                tx.query_row("SELECT restamps FROM device WHERE id = ?1", [device.to_string()], |r| {
                    r.get(0)
                })?;
            let (rejected, restamped) = outcomes_since(&tx, device, acked_seq, restamps > 0)?;
            tx.commit()?;
            if pull_only {
                touch_last_seen(conn, device, &now_text)?;
            }
            Ok(Ok(Pushed {
                last_applied_seq: u64_of(last_applied),
                rejected,
                restamped,
                accepted,
            }))
        })
        .await?
    }

    async fn pull(
        &self,
        scope: String,
        device: DeviceId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        self.read(move |conn| pull_page(conn, &scope, device, after, limit, max_bytes))
            .await
    }

    async fn office_write(&self, writes: Vec<OfficeWrite>, now: DateTime<Utc>) -> Result<Vec<Change>, OfficeError> {
        self.write(move |conn, _| -> Result<Vec<Change>, OfficeError> {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let office = rewind::office_id(&tx)?;
            let row = device_row(&tx, office)?.ok_or_else(|| damaged("device", "the office device is missing"))?;
            let draft = OfficeDraft::new(office, row.last_applied, writes);
            let preload = load(&tx, &draft.pusher, &draft.preload(), false)?;
            let mut clock = clock(&tx).map_err(StoreError::from)?;
            let wall = wall_millis(now);
            let stamped = draft.stamp(&preload, &mut clock, wall);
            let loaded = load(&tx, &stamped.pusher, &stamped.needs, false)?;
            let plan = stamped.plan(loaded, &mut clock, wall).map_err(OfficeError::Invalid)?;
            write_plan(&tx, office, &plan, &format_timestamp(now))?;
            save_clock(&tx, &clock).map_err(StoreError::from)?;
            tx.commit().map_err(StoreError::from)?;
            Ok(plan.accepted.into_iter().map(|a| a.change).collect())
        })
        .await?
    }

    async fn add_enrol_code(&self, code: NewCode, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn, _| -> Result<(), StoreError> {
            conn.execute(
                "INSERT INTO enrol_code (code_hash, member_id, commune_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    code.code_hash,
                    text_id(code.member_id),
                    text_id(code.commune_id),
                    format_timestamp(now),
                    format_timestamp(code.expires_at),
                ),
            )?;
            Ok(())
        })
        .await?
    }

    async fn pending_codes(&self, now: DateTime<Utc>) -> Result<Vec<PendingCode>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT code_hash, member_id, commune_id, created_at, expires_at FROM enrol_code
                 WHERE used_at IS NULL AND expires_at > ?1 ORDER BY created_at, code_hash",
            )?;
            let rows = stmt.query_map([format_timestamp(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (code_hash, member, commune, created_at, expires_at) = row?;
                out.push(PendingCode {
                    code_hash,
                    member_id: Uuid::parse_str(&member).map_err(|e| damaged("enrol_code.member_id", e))?,
                    commune_id: Uuid::parse_str(&commune).map_err(|e| damaged("enrol_code.commune_id", e))?,
                    created_at,
                    expires_at,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn cancel_code(&self, code_hash: String, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(move |conn, _| -> Result<bool, StoreError> {
            let now = format_timestamp(now);
            let changed = conn.execute(
                "UPDATE enrol_code SET expires_at = ?1 WHERE code_hash = ?2 AND used_at IS NULL AND expires_at > ?1",
                (&now, &code_hash),
            )?;
            Ok(changed == 1)
        })
        .await?
    }

    async fn devices(&self) -> Result<Vec<DeviceRecord>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {DEVICE_COLUMNS}, {COPY_COLUMNS} FROM device WHERE commune_id IS NOT NULL ORDER BY enrolled_at"
                ))?
                .query_map([], listed_device)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke(&self, device: DeviceId, erase: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(move |conn, _| -> Result<bool, StoreError> {
            let n = conn.execute(
                "UPDATE device SET revoked_at = coalesce(revoked_at, ?1),
                     erase_requested_at = CASE WHEN ?3 THEN coalesce(erase_requested_at, ?1)
                                               ELSE erase_requested_at END
                 WHERE id = ?2 AND commune_id IS NOT NULL",
                (format_timestamp(now), device.to_string(), erase),
            )?;
            Ok(n > 0)
        })
        .await?
    }

    async fn record_erased(
        &self,
        device: DeviceId,
        unsent: u64,
        reported_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<EraseAck, StoreError> {
        self.write(move |conn, _| -> Result<EraseAck, StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT erase_requested_at, erased_at FROM device WHERE id = ?1 AND commune_id IS NOT NULL",
                    [device.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let ack = match row {
                None => EraseAck::NoDevice,
                Some((None, _)) => EraseAck::NotRequested,
                Some((Some(_), Some(_))) => EraseAck::AlreadyRecorded,
                Some((Some(asked), None)) => {
                    tx.execute(
                        "UPDATE device SET erased_at = ?1, erased_unsent = ?2 WHERE id = ?3 AND erased_at IS NULL",
                        (
                            super::erased_time(reported_at, &asked, now),
                            i64_of(unsent),
                            device.to_string(),
                        ),
                    )?;
                    EraseAck::Recorded
                }
            };
            tx.commit()?;
            Ok(ack)
        })
        .await?
    }

    async fn entities(&self, kind: EntityKind) -> Result<Vec<(Uuid, Known)>, StoreError> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, kind, scope, state FROM entity WHERE kind = ?1 ORDER BY id")?;
            let mut rows = stmt.query([kind.as_str()])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(known_row(row)?);
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
        self.write(move |conn, _| -> Result<Result<Vec<PackFile>, String>, StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = format_timestamp(now);
            let records = match pack_catalog::record(&pack_versions(&tx)?, &packs) {
                Ok(records) => records,
                // Dropping the transaction records nothing.
                Err(refused) => return Ok(Err(refused)),
            };
            for record in records {
                match record {
                    Record::New(pack) => tx.execute(
                        "INSERT INTO pack_version (key, version, toml, first_served_at) VALUES (?1, ?2, ?3, ?4)",
                        (&pack.key, pack.version, &pack.toml, &now),
                    )?,
                    Record::Reworded(pack) => tx.execute(
                        "UPDATE pack_version SET toml = ?3 WHERE key = ?1 AND version = ?2",
                        (&pack.key, pack.version, &pack.toml),
                    )?,
                };
            }
            let all = pack_versions(&tx)?;
            tx.commit()?;
            Ok(Ok(all))
        })
        .await?
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
